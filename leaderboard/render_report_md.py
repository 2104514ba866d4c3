"""The transfer report as Markdown: a summary table, then per task a checkpoint x language table
of deltas and the full per-language numbers. Every string from a result file or a names file is
escaped."""

from __future__ import annotations

from xharness.leaderboard.formats import DASH, filters_sentence, format_delta, format_interval, format_p, format_score, md_text
from xharness.leaderboard.report import Report
from xharness.leaderboard.report_wording import (
    cell_notes,
    detail_rows,
    direction_sentence,
    left_out,
    marked,
    method_sentences,
    p_adjusted_header,
    with_interval,
)


def _md_table(headers: list[str], rows: list[list[str]], left: int, *, centre_last: bool = False) -> list[str]:
    align = ["---" if i < left else "---:" for i in range(len(headers))]
    if centre_last:
        align[-1] = ":---:"
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render_markdown(report: Report) -> str:
    base = report.baseline
    lines = [f"# {md_text(report.title)}", ""]
    lines.append(f"Baseline: **{md_text(base.label)}** ({md_text(base.folder)})" + (
        f", intermediate task: {md_text(base.intermediate)}" if base.intermediate else "") + ".")
    lines.append("")
    lines += method_sentences(report)
    if report.names_source:
        lines += ["", f"Display names: {md_text(report.names_source)}."]
    filtered = filters_sentence(report.task_filter, report.language_filter, quote=md_text)
    if filtered:
        lines += ["", filtered]

    lines += ["", "## Summary: mean delta per task", ""]
    headers = ["checkpoint"] + (["intermediate"] if report.has_intermediate else [])
    headers += [md_text(t.name) for t in report.tasks]
    multi = len(report.tasks) > 1
    if multi:
        headers.append("overall")
    rows = []
    for ck in report.checkpoints:
        row = [md_text(ck.model.label)] + ([md_text(ck.model.intermediate or DASH)] if report.has_intermediate else [])
        for t in report.tasks:
            deltas = ck.task(t.name)
            row.append(with_interval(deltas.mean if deltas else None))
        if multi:
            row.append(with_interval(ck.overall))
        rows.append(row)
    lines += _md_table(headers, rows, left=2 if report.has_intermediate else 1)
    lines += ["", f"Each cell: the mean delta and its {report.confidence:.0%} interval; * p ≤ {report.alpha:g}."]

    for info in report.tasks:
        if not info.languages:
            continue
        n = len(info.languages)
        lines += ["", f"## {md_text(info.name)} ({md_text(info.main_metric)})", ""]
        lines.append(f"{n} language{'s' if n != 1 else ''}; resampled units: {md_text(info.unit)}." + direction_sentence(info))
        lines.append("")
        headers = ["checkpoint", "mean", *(md_text(lang) for lang in info.languages)]
        rows = []
        for ck in report.checkpoints:
            deltas = ck.task(info.name)
            if deltas is None:
                continue
            cells = [deltas.cell(lang) for lang in info.languages]
            rows.append([md_text(ck.model.label), marked(deltas.mean), *(DASH if c is None else marked(c) for c in cells)])
        lines += _md_table(headers, rows, left=1)
        lines += ["", "Per language:", ""]
        headers = ["checkpoint", "lang", "n", "baseline", "checkpoint", "delta", f"{report.confidence:.0%} CI", "p",
                   p_adjusted_header(report), "sig"]
        rows = []
        for ck, cell in detail_rows(report, info.name):
            is_mean = cell.key == "mean"
            rows.append([
                md_text(ck.model.label), "*mean*" if is_mean else md_text(cell.key), DASH if cell.n is None else str(cell.n),
                format_score(cell.baseline), format_score(cell.score), format_delta(cell.delta), format_interval(cell), format_p(cell.p),
                DASH if is_mean else format_p(cell.p_adjusted), "*" if cell.significant else "",
            ])
        lines += _md_table(headers, rows, left=2, centre_last=True)

    notes = [f"{md_text(who)}: {md_text(what)}" for who, what in left_out(report) + cell_notes(report)]
    notes += [md_text(n) for n in report.notes]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += ["", "## Sources", ""] + [f"- {md_text(s)}" for s in report.sources]
    if report.skipped:
        lines += ["", "Skipped (invalid):", ""] + [f"- {md_text(s)}: {md_text(r)}" for s, r in report.skipped]
    return "\n".join(lines) + "\n"
