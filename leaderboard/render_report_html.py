"""The transfer report as one self-contained HTML page: the heatmaps drawn as inline SVG, nothing
fetched (the Content-Security-Policy forbids any network access and any script). Every string
from a result file or a names file is escaped."""

from __future__ import annotations

import re
from importlib import resources

from xharness.leaderboard.formats import DASH, esc, filters_sentence, format_delta, format_interval, format_p, format_score
from xharness.leaderboard.heatmaps import file_stem, heatmaps
from xharness.leaderboard.render_heatmap_svg import heatmap_svg
from xharness.leaderboard.report import DeltaCell, Report
from xharness.leaderboard.report_wording import (
    cell_notes,
    detail_rows,
    direction_sentence,
    left_out,
    marked,
    method_sentences,
    p_adjusted_header,
)


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


def _sig_cell(cell: DeltaCell | None, *, interval: bool = False) -> str:
    if cell is None:
        return DASH
    text = esc(marked(cell))
    if interval and cell.low is not None:
        text += f' <span class="ci">{esc(format_interval(cell))}</span>'
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
    filtered = filters_sentence(report.task_filter, report.language_filter, quote=esc)
    if filtered:
        intro.append(f'<p class="lede">{filtered}</p>')

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
                          esc(p_adjusted_header(report)), "sig"]
        detail = []
        for ck, cell in detail_rows(report, info.name):
            is_mean = cell.key == "mean"
            detail.append([
                esc(ck.model.label), "<em>mean</em>" if is_mean else esc(cell.key), DASH if cell.n is None else str(cell.n),
                format_score(cell.baseline), format_score(cell.score), format_delta(cell.delta), esc(format_interval(cell)), esc(format_p(cell.p)),
                DASH if is_mean else esc(format_p(cell.p_adjusted)), "*" if cell.significant else "",
            ])
        n = len(info.languages)
        sections += [
            f'<section class="task" id="task-{index}" data-task="{esc(info.name)}">',
            f"<h2>{esc(info.name)} <small>{esc(info.main_metric)}, {n} language{'s' if n != 1 else ''}</small></h2>",
            f"<figure>{heatmap_svg(figure)}<figcaption>{esc(figure.caption)}</figcaption></figure>" if figure else "",
            f'<p class="note">Resampled units: {esc(info.unit)}.{esc(direction_sentence(info))}</p>',
            f"<details><summary>Per-language numbers</summary>{_html_table(detail_headers, detail, text_columns=2, classes='detail')}</details>",
            "</section>",
        ]
    notes = [f"{esc(who)}: {esc(what)}" for who, what in left_out(report) + cell_notes(report)]
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
