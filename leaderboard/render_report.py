"""A transfer report as Markdown, as one self-contained HTML page, and as JSON; writing them.

Markdown: a summary table (mean delta per task, overall), then per task a compact
checkpoint x language table of deltas and the full per-language numbers (scores, delta,
interval, p, adjusted p). HTML: the same, with the heatmaps drawn as inline SVG (nothing
fetched; the Content-Security-Policy forbids any network access and any script). JSON: every
number, unrounded. Every string from a result file or a names file is escaped (Markdown and
HTML) and the adjustment used is stated in every format.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from xharness.fileio import atomic_write_text
from xharness.leaderboard.adjust import LABELS
from xharness.leaderboard.figures import Heatmap, cell_text, colour, file_stem, heatmaps
# The same number formats as `xharness compare`.
from xharness.leaderboard.render_compare import format_delta as _delta
from xharness.leaderboard.render_compare import format_interval as _interval
from xharness.leaderboard.render_compare import format_score as _score
from xharness.leaderboard.render_md import md_text
from xharness.leaderboard.report import Cell, Checkpoint, Report

DASH = "–"
P_VALUE_RULE = "two-sided bootstrap p = min(1, 2 * min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1)) over the B resampled deltas d*"
P_VALUE_TEXT = "two-sided bootstrap p-value, `p = min(1, 2·min(#{d* ≤ 0} + 1, #{d* ≥ 0} + 1) / (B + 1))` over the B resampled deltas d*"


# -- shared wording ---------------------------------------------------------------------------





def _p(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _marked(cell: Cell) -> str:
    return _delta(cell.delta) + ("*" if cell.significant else "")


def _with_interval(cell: Cell | None) -> str:
    if cell is None:
        return DASH
    return _marked(cell) + (f" {_interval(cell)}" if cell.low is not None else "")


def adjustment_sentence(report: Report) -> str:
    alpha = f"{report.alpha:g}"
    if report.adjust == "none":
        return f"Multiple comparisons: no adjustment (`--adjust none`); * marks a per-language difference with p ≤ {alpha}."
    return (f"Multiple comparisons: {LABELS[report.adjust]} over the per-language tests of each checkpoint and task "
            f"(`--adjust {report.adjust}`); * marks a per-language difference whose adjusted p ≤ {alpha}.")


def method_sentences(report: Report) -> list[str]:
    """The method in a few sentences (our own text: `code` spans are the only markup)."""
    level = f"{report.confidence:.0%}"
    return [
        f"Delta = checkpoint − baseline, in main-score points, per task and per language both runs have, with a {level} "
        f"paired bootstrap percentile interval ({report.n_resamples} resamples, seed {report.seed}; both runs' items "
        "resampled together, as `xharness compare` does).",
        adjustment_sentence(report),
        "Task means (unweighted, over the languages both runs have) and the overall mean (unweighted over tasks, "
        f"XTREME's convention, only for checkpoints with every task) are single tests, not adjusted: * when p ≤ {report.alpha:g}.",
        f"p: {P_VALUE_TEXT}. Intervals are per cell and unadjusted.",
    ]


def _left_out(report: Report) -> list[tuple[str, str]]:
    """(checkpoint label, sentence) for everything a checkpoint leaves out."""
    out = []
    for ck in report.checkpoints:
        for t in ck.tasks:
            if t.only_baseline:
                out.append((ck.model.label, f"{t.task}: left out, only the baseline has {', '.join(t.only_baseline)}"))
            if t.only_checkpoint:
                out.append((ck.model.label, f"{t.task}: left out, only the checkpoint has {', '.join(t.only_checkpoint)}"))
        if ck.missing_tasks:
            out.append((ck.model.label, f"no comparable result for {', '.join(ck.missing_tasks)} (no overall mean)"))
        if ck.extra_tasks:
            out.append((ck.model.label, f"not in the report, the baseline has no result for {', '.join(ck.extra_tasks)}"))
    return out


def _cell_notes(report: Report) -> list[tuple[str, str]]:
    out = []
    for ck in report.checkpoints:
        for t in ck.tasks:
            for cell in (*t.cells, t.mean):
                if cell.note:
                    out.append((ck.model.label, f"{t.task}/{cell.key}: {cell.note}"))
        if ck.overall is not None and ck.overall.note:
            out.append((ck.model.label, f"overall: {ck.overall.note}"))
    return out


def _detail_rows(report: Report, task: str) -> Iterable[tuple[Checkpoint, Cell]]:
    for ck in report.checkpoints:
        deltas = ck.task(task)
        if deltas is None:
            continue
        for cell in deltas.cells:
            yield ck, cell
        yield ck, deltas.mean


def _p_adjusted_header(report: Report) -> str:
    return {"holm": "p (Holm)", "bh": "p (BH)", "none": "p (unadjusted)"}[report.adjust]


# -- Markdown ---------------------------------------------------------------------------------


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
    filters = []
    if report.task_filter:
        filters.append("tasks " + ", ".join(md_text(t) for t in report.task_filter))
    if report.language_filter:
        filters.append("languages " + ", ".join(md_text(lang) for lang in report.language_filter))
    if filters:
        lines += ["", "Filtered to " + "; ".join(filters) + "."]

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
            row.append(_with_interval(deltas.mean if deltas else None))
        if multi:
            row.append(_with_interval(ck.overall))
        rows.append(row)
    lines += _md_table(headers, rows, left=2 if report.has_intermediate else 1)
    lines += ["", f"Each cell: the mean delta and its {report.confidence:.0%} interval; * p ≤ {report.alpha:g}."]

    for info in report.tasks:
        if not info.languages:
            continue
        n = len(info.languages)
        lines += ["", f"## {md_text(info.name)} ({md_text(info.main_metric)})", ""]
        lines.append(f"{n} language{'s' if n != 1 else ''}; resampled units: {md_text(info.unit)}.")
        lines.append("")
        headers = ["checkpoint", "mean", *(md_text(lang) for lang in info.languages)]
        rows = []
        for ck in report.checkpoints:
            deltas = ck.task(info.name)
            if deltas is None:
                continue
            cells = [deltas.cell(lang) for lang in info.languages]
            rows.append([md_text(ck.model.label), _marked(deltas.mean), *(DASH if c is None else _marked(c) for c in cells)])
        lines += _md_table(headers, rows, left=1)
        lines += ["", "Per language:", ""]
        headers = ["checkpoint", "lang", "n", "baseline", "checkpoint", "delta", f"{report.confidence:.0%} CI", "p",
                   _p_adjusted_header(report), "sig"]
        rows = []
        for ck, cell in _detail_rows(report, info.name):
            is_mean = cell.key == "mean"
            rows.append([
                md_text(ck.model.label), "*mean*" if is_mean else md_text(cell.key), DASH if cell.n is None else str(cell.n),
                _score(cell.baseline), _score(cell.score), _delta(cell.delta), _interval(cell), _p(cell.p),
                DASH if is_mean else _p(cell.p_adjusted), "*" if cell.significant else "",
            ])
        lines += _md_table(headers, rows, left=2, centre_last=True)

    notes = [f"{md_text(who)}: {md_text(what)}" for who, what in _left_out(report) + _cell_notes(report)]
    notes += [md_text(n) for n in report.notes]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += ["", "## Sources", ""] + [f"- {md_text(s)}" for s in report.sources]
    if report.skipped:
        lines += ["", "Skipped (invalid):", ""] + [f"- {md_text(s)}: {md_text(r)}" for s, r in report.skipped]
    return "\n".join(lines) + "\n"


# -- JSON -------------------------------------------------------------------------------------


def _model_dict(model) -> dict[str, Any]:
    return {"model": model.name, "slug": model.slug, "label": model.label, "intermediate": model.intermediate, "folder": model.folder}


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "format": "xharness-report",
        "version": 1,
        "title": report.title,
        "baseline": _model_dict(report.baseline),
        "delta": "checkpoint - baseline (main_score points)",
        "bootstrap": {
            "resamples": report.n_resamples, "seed": report.seed, "confidence": report.confidence,
            "interval": "percentile, per cell, unadjusted", "paired": "both runs' items resampled together (as xharness compare)",
            "p_value": P_VALUE_RULE,
        },
        "adjustment": {
            "method": report.adjust, "description": LABELS[report.adjust],
            "family": "the per-language tests of one checkpoint on one task",
            "alpha": report.alpha, "significant": "p_adjusted <= alpha",
            "means": "task means and the overall mean are single tests, not adjusted (p_adjusted = p)",
        },
        "names_file": report.names_source,
        "filters": {"tasks": list(report.task_filter), "languages": list(report.language_filter)},
        "tasks": [
            {"task": t.name, "main_metric": t.main_metric, "resampled_units": t.unit, "languages": list(t.languages)}
            for t in report.tasks
        ],
        "checkpoints": [
            {
                **_model_dict(ck.model),
                "tasks": {
                    t.task: {
                        "languages": {c.key: c.to_dict() for c in t.cells},
                        "mean": t.mean.to_dict(),
                        "only_baseline": list(t.only_baseline),
                        "only_checkpoint": list(t.only_checkpoint),
                    }
                    for t in ck.tasks
                },
                "overall": ck.overall.to_dict() if ck.overall else None,
                "missing_tasks": list(ck.missing_tasks),
                "extra_tasks": list(ck.extra_tasks),
            }
            for ck in report.checkpoints
        ],
        "notes": list(report.notes),
        "sources": list(report.sources),
        "skipped": [{"source": s, "reason": r} for s, r in report.skipped],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- HTML -------------------------------------------------------------------------------------

CELL_W, CELL_H, PAD = 46, 24, 8


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _label(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def heatmap_svg(heatmap: Heatmap) -> str:
    """The heatmap as inline SVG: one <g class="cell"> per cell with its delta in data-delta, a legend below."""
    limit = heatmap.limit
    n_rows, n_cols = len(heatmap.row_labels), len(heatmap.column_labels)
    label_w = 12 + 7 * max((len(_label(r)) for r in heatmap.row_labels), default=4)
    col_len = max((len(_label(c, 16)) for c in heatmap.column_labels), default=1)
    rotate = col_len > 4
    top = PAD + (int(col_len * 6.2) + 8 if rotate else 18)
    grid_w, grid_h = CELL_W * n_cols, CELL_H * n_rows
    legend_y = top + grid_h + 18
    width = max(label_w + grid_w + PAD, label_w + 11 * 22 + 90)
    height = legend_y + 40
    parts = [
        f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(heatmap.title)}" data-limit="{limit!r}">',
        f"<title>{esc(heatmap.title)}</title>",
    ]
    for j, col in enumerate(heatmap.column_labels):
        x = label_w + j * CELL_W + CELL_W / 2
        if rotate:
            parts.append(f'<text class="col" x="{x:.1f}" y="{top - 6}" transform="rotate(-45 {x:.1f} {top - 6})">{esc(_label(col, 16))}</text>')
        else:
            parts.append(f'<text class="col" x="{x:.1f}" y="{top - 6}" text-anchor="middle">{esc(col)}</text>')
    for i, row in enumerate(heatmap.row_labels):
        y = top + i * CELL_H
        parts.append(f'<text class="row" x="{label_w - 6}" y="{y + CELL_H / 2 + 4:.1f}" text-anchor="end"><title>{esc(row)}</title>{esc(_label(row))}</text>')
        for j, col in enumerate(heatmap.column_labels):
            value, significant = heatmap.values[i][j], heatmap.significant[i][j]
            x = label_w + j * CELL_W
            classes = "cell" + (" sig" if significant else "") + (" missing" if value is None else "")
            fill = colour(value, limit)
            dark = value is not None and abs(value) > 0.6 * limit
            tip = f"{row} / {col}: " + ("no result" if value is None else f"{value:+.2f}" + (" (significant)" if significant else ""))
            stroke = ' stroke="#1d1d1f" stroke-width="2"' if significant else ""
            text_class = ' class="dark"' if dark else ""
            parts.append(
                f'<g class="{classes}" data-row="{esc(row)}" data-col="{esc(col)}" data-delta="{"" if value is None else repr(float(value))}">'
                f"<title>{esc(tip)}</title>"
                f'<rect x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" height="{CELL_H - 2}" fill="{fill}"{stroke}/>'
                f'<text x="{x + CELL_W / 2:.1f}" y="{y + CELL_H / 2 + 4:.1f}" text-anchor="middle"'
                f'{text_class}>{esc(cell_text(value, significant))}</text></g>'
            )
    steps = 11
    for k in range(steps):
        v = -limit + 2 * limit * k / (steps - 1)
        parts.append(f'<rect class="legend" x="{label_w + k * 22}" y="{legend_y}" width="22" height="12" fill="{colour(v, limit)}"/>')
    parts.append(f'<text class="legend" x="{label_w}" y="{legend_y + 26}">{-limit:+g}</text>')
    parts.append(f'<text class="legend" x="{label_w + 5.5 * 22:.0f}" y="{legend_y + 26}" text-anchor="middle">0</text>')
    parts.append(f'<text class="legend" x="{label_w + 11 * 22}" y="{legend_y + 26}" text-anchor="end">{limit:+g}</text>')
    parts.append(f'<text class="legend" x="{label_w + 11 * 22 + 8}" y="{legend_y + 10}">delta (points)</text>')
    parts.append("</svg>")
    return "".join(parts)


def _code_spans(escaped: str) -> str:
    """`code` spans of our own (already escaped) text as <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _asset(name: str) -> str:
    return resources.files("xharness.leaderboard").joinpath(name).read_text(encoding="utf-8")


def _html_table(headers: list[str], rows: list[list[str]], *, text_columns: int, classes: str = "") -> str:
    text = ' class="text"'
    head = "".join(f'<th scope="col"{text if i < text_columns else ""}>{h}</th>' for i, h in enumerate(headers))
    body = "\n".join(
        "<tr>" + "".join(f'<td{text if i < text_columns else ""}>{c}</td>' for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    cls = f' class="{classes}"' if classes else ""
    return f'<div class="table-wrap"><table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _sig_cell(cell: Cell | None, *, interval: bool = False) -> str:
    if cell is None:
        return DASH
    text = esc(_marked(cell))
    if interval and cell.low is not None:
        text += f' <span class="ci">{esc(_interval(cell))}</span>'
    return f'<span class="sig">{text}</span>' if cell.significant else text


def render_html(report: Report) -> str:
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'"
    base = report.baseline
    figures = {h.key: h for h in heatmaps(report)}
    intro = [f'<p class="lede">Baseline: <strong>{esc(base.label)}</strong> ({esc(base.folder)})'
             + (f", intermediate task: {esc(base.intermediate)}" if base.intermediate else "") + ".</p>"]
    intro += [f'<p class="lede">{_code_spans(esc(s))}</p>' for s in method_sentences(report)]
    if report.names_source:
        intro.append(f'<p class="lede">Display names: {esc(report.names_source)}.</p>')
    filters = []
    if report.task_filter:
        filters.append("tasks " + ", ".join(report.task_filter))
    if report.language_filter:
        filters.append("languages " + ", ".join(report.language_filter))
    if filters:
        intro.append(f'<p class="lede">Filtered to {esc("; ".join(filters))}.</p>')

    multi = len(report.tasks) > 1
    headers = ["checkpoint"] + (["intermediate"] if report.has_intermediate else []) + [esc(t.name) for t in report.tasks]
    headers += ["overall"] if multi else []
    rows = []
    for ck in report.checkpoints:
        row = [esc(ck.model.label)] + ([esc(ck.model.intermediate or DASH)] if report.has_intermediate else [])
        row += [_sig_cell(ck.task(t.name).mean if ck.task(t.name) else None, interval=True) for t in report.tasks]
        if multi:
            row.append(_sig_cell(ck.overall, interval=True))
        rows.append(row)
    overview = figures["tasks"]
    sections = [
        '<section id="summary"><h2>Summary: mean delta per task</h2>',
        f"<figure>{heatmap_svg(overview)}<figcaption>{esc(overview.caption)}</figcaption></figure>",
        _html_table(headers, rows, text_columns=2 if report.has_intermediate else 1, classes="summary"),
        f'<p class="note">Each cell: the mean delta and its {report.confidence:.0%} interval; * p ≤ {report.alpha:g}.</p>',
        "</section>",
    ]
    for index, info in enumerate(report.tasks):
        if not info.languages:
            continue
        figure = figures.get(f"task-{file_stem(info.name)}")
        detail_headers = ["checkpoint", "lang", "n", "baseline", "checkpoint", "delta", f"{report.confidence:.0%} CI", "p",
                          esc(_p_adjusted_header(report)), "sig"]
        detail = []
        for ck, cell in _detail_rows(report, info.name):
            is_mean = cell.key == "mean"
            detail.append([
                esc(ck.model.label), "<em>mean</em>" if is_mean else esc(cell.key), DASH if cell.n is None else str(cell.n),
                _score(cell.baseline), _score(cell.score), _delta(cell.delta), esc(_interval(cell)), esc(_p(cell.p)),
                DASH if is_mean else esc(_p(cell.p_adjusted)), "*" if cell.significant else "",
            ])
        n = len(info.languages)
        sections += [
            f'<section class="task" id="task-{index}" data-task="{esc(info.name)}">',
            f"<h2>{esc(info.name)} <small>{esc(info.main_metric)}, {n} language{'s' if n != 1 else ''}</small></h2>",
            f"<figure>{heatmap_svg(figure)}<figcaption>{esc(figure.caption)}</figcaption></figure>" if figure else "",
            f'<p class="note">Resampled units: {esc(info.unit)}.</p>',
            f"<details><summary>Per-language numbers</summary>{_html_table(detail_headers, detail, text_columns=2, classes='detail')}</details>",
            "</section>",
        ]
    notes = [f"{esc(who)}: {esc(what)}" for who, what in _left_out(report) + _cell_notes(report)]
    notes += [esc(n) for n in report.notes]
    if notes:
        sections.append('<section id="notes"><h2>Notes</h2><ul class="notes">' + "".join(f"<li>{n}</li>" for n in notes) + "</ul></section>")
    sources = "".join(f"<li>{esc(s)}</li>" for s in report.sources)
    skipped = ""
    if report.skipped:
        skipped = '<p>Skipped (invalid):</p><ul class="sources">' + "".join(f"<li>{esc(s)}: {esc(r)}</li>" for s, r in report.skipped) + "</ul>"
    body = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(report.title)}</title>",
        f"<style>\n{_asset('leaderboard.css')}{_asset('report.css')}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{esc(report.title)}</h1>{''.join(intro)}</header>",
        *(s for s in sections if s),
        f'<footer><h2>Sources</h2><ul class="sources">{sources}</ul>{skipped}</footer>',
        "</body>",
        "</html>",
    ]
    return "\n".join(body) + "\n"


# -- writing ----------------------------------------------------------------------------------

FORMATS: dict[str, tuple[str, Callable[[Report], str]]] = {
    "md": ("report.md", render_markdown),
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
}


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt][1](report)


def write_report(report: Report, out_dir: Path, formats: Iterable[str], *, figure_formats: Iterable[str] = ()) -> list[Path]:
    """Write `report.<ext>` per format, then the figure files, into `out_dir`; returns the paths."""
    import os

    out_dir = Path(out_dir)
    mask = os.umask(0)
    os.umask(mask)
    paths = []
    for fmt in dict.fromkeys(formats):
        filename, renderer = FORMATS[fmt]
        path = out_dir / filename
        atomic_write_text(path, renderer(report))
        path.chmod(0o666 & ~mask)  # published files: readable like any other, not 0600
        paths.append(path)
    figure_formats = tuple(dict.fromkeys(figure_formats))
    if figure_formats:
        from xharness.leaderboard.figures import write_figures

        paths += write_figures(report, out_dir, figure_formats)
    return paths
