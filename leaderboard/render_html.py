"""The leaderboard as one self-contained static HTML page: inline CSS, JS and SVG, nothing fetched.

Sortable tables (click a column header), the per-language scores as a heatmap (a colour-blind-
safe viridis-like scale over each table's own range, with its legend; `palette`), each cell's
n and std (where the result has one) on hover and, with "show n and ± std", in the cell, a bar chart of each model's task average, and a language
filter that hides columns and recomputes averages and ranks over the languages shown.
Every string from a result file goes through `html.escape`; the page's Content-Security-Policy
allows no network access at all and runs only the one script it carries (pinned by hash).
"""

from __future__ import annotations

import base64
import hashlib
import html
from importlib import resources

from xharness.leaderboard.formats import esc, filters_sentence, format_score, reported
from xharness.leaderboard.palette import cell_style, gradient_css
from xharness.leaderboard.tables import Leaderboard, TaskTable, direction_notes

BAR_WIDTH = 360
BAR_HEIGHT = 16
LABEL_WIDTH = 180


def _asset(name: str) -> str:
    return resources.files("xharness.leaderboard").joinpath(name).read_text(encoding="utf-8")


def _cell_detail(row, lang: str) -> tuple[str, str]:
    """(title text, visible detail) of one score cell: n, and ± std where the result has one."""
    n = row.n.get(lang)
    spread = row.spread.get(lang)
    if n is None:
        return "", ""
    title = f"n = {n}" + ("" if spread is None else f"; ± {spread:.2f} (std over seeds)")
    shown = f"n={n}" + ("" if spread is None else f" ±{spread:.2f}")
    return title, shown


def _range(table: TaskTable) -> tuple[float, float]:
    values = [v for row in table.rows for v in row.scores.values() if v is not None]
    return (min(values), max(values)) if values else (0.0, 100.0)


def legend_html(low: float, high: float) -> str:
    """The colour scale of a table, lowest to highest score."""
    return (
        f'<div class="legend" role="img" aria-label="colour scale from {format_score(low)} to {format_score(high)}">'
        f'<span class="legend-label">{format_score(low)}</span>'
        f'<span class="legend-bar" style="background:{gradient_css()}"></span>'
        f'<span class="legend-label">{format_score(high)}</span>'
        '<span class="legend-text">cell colour: the score on this table\'s range (dark = lowest, yellow = highest)</span></div>'
    )


def _data_v(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _th(label: str, *, sort: str, first: str, classes: str = "", extra: str = "") -> str:
    cls = f' class="{classes}"' if classes else ""
    return f'<th scope="col"{cls} data-sort="{sort}" data-first="{first}"{extra}><button type="button">{esc(label)}</button></th>'


def _rank_cell(rank: int | None) -> str:
    return f'<td class="rank" data-v="{"" if rank is None else rank}">{"–" if rank is None else rank}</td>'


def overview_html(board: Leaderboard) -> str:
    ov = board.overview
    head = [_th("rank", sort="num", first="ascending"), _th("model", sort="text", first="ascending", classes="text")]
    head += [_th(task, sort="num", first="descending") for task in ov.tasks]
    head.append(_th("average", sort="num", first="descending", classes="avg"))
    body = []
    n_langs = {t.column: len(t.languages) for t in board.tasks}
    for i, row in enumerate(ov.rows):
        cells = [_rank_cell(row.rank), f'<td class="text model" data-v="{esc(row.model)}">{esc(row.model)}</td>']
        for task in ov.tasks:
            value = row.averages[task]
            text = format_score(value)
            if value is not None and not row.task_complete[task]:
                table = next(t for t in board.tasks if t.column == task)
                k = next(r.n_languages for r in table.rows if r.model == row.model)
                text += f" ({k}/{n_langs[task]})"
            cells.append(f'<td class="task-avg" data-task="{esc(task)}" data-v="{_data_v(value)}">{esc(text)}</td>')
        cells.append(f'<td class="avg" data-v="{_data_v(row.average)}">{format_score(row.average)}</td>')
        cls = "" if row.complete else ' class="incomplete"'
        body.append(f'<tr data-i="{i}" data-model="{esc(row.model)}"{cls}>' + "".join(cells) + "</tr>")
    parts = [
        '<section id="overview"><h2>Overview</h2>',
        '<div class="table-wrap"><table id="overview-table" class="sortable">',
        "<thead><tr>" + "".join(head) + "</tr></thead>",
        "<tbody>" + "\n".join(body) + "</tbody></table></div>",
        '<p class="note">Each task column is the task average (unweighted mean over its languages); <em>average</em> is '
        "the mean of the task averages, only for models with every task and every language (the others, in grey, are not ranked).</p>",
    ]
    parts += [f'<p class="note">{esc(note)}</p>' for note in direction_notes(ov)]
    incomplete = [r for r in ov.rows if not r.complete]
    if incomplete:
        items = "; ".join(f"{esc(r.model)} ({esc(', '.join(r.missing))})" for r in incomplete)
        parts.append(f'<p class="note">Incomplete: {items}.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def bars_svg(table: TaskTable) -> str:
    """Horizontal bars of each model's task average, in table order."""
    rows = [r for r in table.rows if r.average is not None]
    height = BAR_HEIGHT * len(rows) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [
        f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(table.heading)}: average per model">'
    ]
    for i, row in enumerate(rows):
        y = 4 + i * BAR_HEIGHT
        length = BAR_WIDTH * min(max(row.average, 0.0), 100.0) / 100.0
        label = row.model if len(row.model) <= 28 else row.model[:27] + "…"
        cls = "bar" if row.complete else "bar incomplete"
        parts.append(
            f'<g><title>{esc(row.model)}: {format_score(row.average)}</title>'
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT - 4}" text-anchor="end">{esc(label)}</text>'
            f'<rect class="{cls}" x="{LABEL_WIDTH}" y="{y + 2}" width="{length:.1f}" height="{BAR_HEIGHT - 4}"/>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + BAR_HEIGHT - 4}">{format_score(row.average)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def task_html(table: TaskTable, index: int) -> str:
    n = len(table.languages)
    best_first = "descending" if table.higher_is_better else "ascending"
    head = [
        _th("rank", sort="num", first="ascending"),
        _th("model", sort="text", first="ascending", classes="text"),
        _th("avg", sort="num", first=best_first, classes="avg"),
        _th("langs", sort="num", first="descending"),
    ]
    head += [
        _th(lang, sort="num", first=best_first, classes="lang-cell", extra=f' data-lang="{esc(lang)}"')
        for lang in table.languages
    ]
    body = []
    low, high = _range(table)
    for i, row in enumerate(table.rows):
        cells = [
            _rank_cell(row.rank),
            f'<td class="text model" data-v="{esc(row.model)}" title="{esc(row.source)}">{esc(row.model)}</td>',
            f'<td class="avg" data-v="{_data_v(row.average)}">{format_score(row.average)}</td>',
            f'<td class="langs" data-v="{row.n_languages}">{row.n_languages}/{n}</td>',
        ]
        for lang in table.languages:
            value = row.scores[lang]
            # Yellow is always best: for a lower-is-better score (an error rate) the scale is turned round.
            style = cell_style(value if table.higher_is_better or value is None else low + high - value, low, high)
            style_attr = f' style="{style}"' if style else ""
            title, shown = _cell_detail(row, lang) if value is not None else ("", "")
            title_attr = f' title="{esc(title)}"' if title else ""
            detail = f'<span class="detail"> {esc(shown)}</span>' if shown else ""
            cells.append(
                f'<td class="lang-cell" data-lang="{esc(lang)}" data-v="{_data_v(value)}"{style_attr}{title_attr}>'
                f"{format_score(value)}{detail}</td>"
            )
        cls = "" if row.complete else ' class="incomplete"'
        body.append(f'<tr data-i="{i}" data-model="{esc(row.model)}"{cls}>' + "".join(cells) + "</tr>")
    parts = [
        f'<section class="task" id="task-{index}" data-task="{esc(table.column)}">',
        f"<h2>{esc(table.heading)} <small>{esc(table.main_metric)}</small></h2>",
        f'<figure>{bars_svg(table)}<figcaption>Task average per model over all {n} languages of the table '
        "(pale bars: models missing some languages).</figcaption></figure>",
        f'<div class="table-wrap"><table class="sortable task-table heatmap" data-task="{esc(table.column)}">',
        "<thead><tr>" + "".join(head) + "</tr></thead>",
        "<tbody>" + "\n".join(body) + "</tbody></table></div>",
        legend_html(low, high),
        '<p class="note">Click a column header to sort. Hover a score for its n and spread, or tick '
        '<em>show n and ± std</em> above. The language filter hides columns and recomputes averages and ranks '
        "over the languages shown.</p>",
    ]
    if not table.higher_is_better:
        parts.append(
            f'<p class="note">Lower is better on this task ({esc(table.main_metric)} is an error rate): models are ranked '
            "lowest first and the colour scale is turned round (yellow = the lowest error). The language filter's "
            "re-ranking assumes higher is better; the ranks printed here are the right ones.</p>"
        )
    if table.baselines:
        head_cells = "".join(f'<th data-lang="{esc(lang)}">{esc(lang)}</th>' for lang in table.languages)
        rows = "\n".join(
            f'<tr><td class="text">{esc(name)}</td>'
            + "".join(f'<td class="lang-cell" data-lang="{esc(lang)}">{format_score(values[lang])}</td>' for lang in table.languages)
            + "</tr>"
            for name, values in table.baselines
        )
        parts.append(
            '<div class="table-wrap"><table class="baselines"><caption>Baselines per language (not ranked): majority class = '
            "the English training split's most frequent label for every item; chance = a uniform guess among the trained labels"
            f'</caption><thead><tr><th class="text">baseline</th>{head_cells}</tr></thead><tbody>{rows}</tbody></table></div>'
        )
    if table.references:
        rows = "\n".join(
            f'<tr><td class="text">{esc(ref.model)}<span class="tag">reported, not run here</span></td>'
            f'<td class="text">{esc(ref.scope)}</td><td>{esc(reported(ref.value))}</td>'
            f'<td class="text">{esc(ref.source)}</td><td class="text">{esc(ref.protocol)}</td></tr>'
            for ref in table.references
        )
        parts.append(
            '<div class="table-wrap"><table class="reported"><caption>Reported in papers, not run here '
            "(the papers' data and protocols; not ranked)</caption>"
            f'<thead><tr><th class="text">model</th><th class="text">language</th><th>{esc(table.main_metric)}</th>'
            '<th class="text">source</th><th class="text">protocol</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    for note in table.notes:
        parts.append(f'<p class="note">Note: {esc(note)}.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def filter_html(board: Leaderboard) -> str:
    langs = sorted({lang for t in board.tasks for lang in t.languages})
    boxes = "".join(
        f'<label><input type="checkbox" class="lang-toggle" value="{esc(lang)}" checked> {esc(lang)}</label>'
        for lang in langs
    )
    return (
        '<section id="filters"><fieldset><legend>Languages shown</legend>'
        '<button type="button" id="langs-all">all</button> <button type="button" id="langs-none">none</button> '
        f"{boxes}</fieldset>"
        '<label class="details-toggle"><input type="checkbox" id="show-details"> show n and ± std in the cells</label></section>'
    )


def render_html(board: Leaderboard) -> str:
    script = _asset("leaderboard.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    lede = (
        "Main score of each task per language, from xharness result files. A task's average is the unweighted "
        "mean over its languages (XTREME's convention); models are ranked by it."
    )
    filtered = filters_sentence(board.task_filter, board.language_filter, quote=esc)
    head_notes = [f'<p class="lede">{esc(lede)}</p>']
    if filtered:
        head_notes.append(f'<p class="lede">{filtered}</p>')
    if board.generated:
        head_notes.append(f'<p class="lede">Generated {esc(board.generated)}.</p>')
    sources = "".join(f"<li>{esc(s)}</li>" for s in board.sources)
    skipped = ""
    if board.skipped:
        skipped = "<p>Skipped (invalid):</p><ul class=\"sources\">" + "".join(
            f"<li>{esc(s)}: {esc(r)}</li>" for s, r in board.skipped
        ) + "</ul>"
    body = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(csp, quote=False)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(board.title)}</title>",
        f"<style>\n{_asset('leaderboard.css')}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{esc(board.title)}</h1>{''.join(head_notes)}</header>",
        filter_html(board),
        overview_html(board),
        *(task_html(table, i) for i, table in enumerate(board.tasks)),
        f'<footer><h2>Sources</h2><ul class="sources">{sources}</ul>{skipped}</footer>',
        f"<script>{script}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(body) + "\n"
