"""The leaderboard as Markdown (GitHub-flavoured tables), for a README.

Every string that comes from a result file is escaped: table pipes, Markdown emphasis and
link syntax, and HTML (`<` and `&` become entities), so a model named
`<script>alert(1)</script>` renders as that text.
"""

from __future__ import annotations

from typing import Sequence

from xharness.leaderboard.formats import DASH, filters_sentence, format_score, md_text, reported
from xharness.leaderboard.tables import Leaderboard, TaskTable, direction_notes

def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int, right: Sequence[int] | None = None) -> list[str]:
    """A GFM table: columns before `left` left-aligned, the rest right-aligned (or only those in `right`)."""
    align = [
        "---:" if (i in right if right is not None else i >= left) else "---" for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _rank(rank: int | None) -> str:
    return DASH if rank is None else str(rank)


def overview_lines(board: Leaderboard) -> list[str]:
    overview = board.overview
    headers = ["rank", "model", *(md_text(t) for t in overview.tasks), "average"]
    rows = []
    for row in overview.rows:
        cells = [_rank(row.rank), md_text(row.model)]
        for task in overview.tasks:
            value = row.averages[task]
            cell = format_score(value)
            if value is not None and not row.task_complete[task]:
                table = next(t for t in board.tasks if t.column == task)
                n = next(r.n_languages for r in table.rows if r.model == row.model)
                cell += f" ({n}/{len(table.languages)})"
            cells.append(cell)
        cells.append(format_score(row.average))
        rows.append(cells)
    lines = ["## Overview", ""]
    lines += _table(headers, rows, left=2)
    lines += [
        "",
        "Each task column is the task average; *average* is the unweighted mean of the task averages, "
        "given only for models that have every task and every language (the others are listed unranked).",
    ]
    for note in direction_notes(overview):
        lines += ["", md_text(note)]
    incomplete = [r for r in overview.rows if not r.complete]
    if incomplete:
        lines.append("")
        lines.append("Incomplete: " + "; ".join(f"{md_text(r.model)} ({md_text(', '.join(r.missing))})" for r in incomplete) + ".")
    return lines


def task_lines(table: TaskTable) -> list[str]:
    n = len(table.languages)
    lines = [f"## {md_text(table.heading)} ({md_text(table.main_metric)})", ""]
    lines.append(f"{n} language{'s' if n != 1 else ''}; *avg* is the unweighted mean over them, *langs* how many each model has.")
    if not table.higher_is_better:
        lines.append(f"Lower is better on this task ({md_text(table.main_metric)} is an error rate): models are ranked lowest first.")
    lines.append("")
    headers = ["rank", "model", "avg", "langs", *(md_text(lang) for lang in table.languages)]
    rows = []
    for row in table.rows:
        rows.append(
            [_rank(row.rank), md_text(row.model), format_score(row.average), f"{row.n_languages}/{n}",
             *(format_score(row.scores[lang]) for lang in table.languages)]
        )
    for name, values in table.baselines:
        present = [v for v in values.values() if v is not None]
        rows.append(
            ["", f"*{md_text(name)}* (baseline)", format_score(sum(present) / len(present) if present else None), "",
             *(format_score(values[lang]) for lang in table.languages)]
        )
    lines += _table(headers, rows, left=2)
    if table.baselines:
        lines += ["", "Baselines (not ranked): *majority class* predicts the English training split's most frequent label "
                  "for every item; *chance* is a uniform guess among the labels the probe was trained on."]
    if table.references:
        lines += ["", "Reported in papers, not run here (the papers' data and protocols; not ranked):", ""]
        ref_rows = [
            [f"*{md_text(ref.model)}* (reported)", md_text(ref.scope), reported(ref.value), md_text(ref.source), md_text(ref.protocol)]
            for ref in table.references
        ]
        lines += _table(["model", "language", md_text(table.main_metric), "source", "protocol"], ref_rows, left=2, right=[2])
    for note in table.notes:
        lines += ["", f"Note: {md_text(note)}."]
    return lines


def render_markdown(board: Leaderboard) -> str:
    lines = [f"# {md_text(board.title)}", ""]
    lines.append(
        "Main score of each task per language, from xharness result files. A task's average is the "
        "unweighted mean over its languages (XTREME's convention); models are ranked by it."
    )
    filtered = filters_sentence(board.task_filter, board.language_filter, quote=md_text)
    if filtered:
        lines += ["", filtered]
    if board.generated:
        lines += ["", f"Generated {md_text(board.generated)}."]
    lines.append("")
    lines += overview_lines(board)
    for table in board.tasks:
        lines.append("")
        lines += task_lines(table)
    lines += ["", "## Sources", ""]
    lines += [f"- {md_text(source)}" for source in board.sources]
    if board.skipped:
        lines += ["", "Skipped (invalid):", ""]
        lines += [f"- {md_text(source)}: {md_text(reason)}" for source, reason in board.skipped]
    return "\n".join(lines) + "\n"
