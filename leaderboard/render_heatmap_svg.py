"""A heatmap as inline SVG for the report's HTML page: one <g class="cell"> per cell, a legend below.

Hand-written markup (no matplotlib): the page stays self-contained and every label is escaped.
"""

from __future__ import annotations

from xharness.leaderboard.formats import esc
from xharness.leaderboard.heatmaps import Heatmap, cell_text, colour


CELL_W, CELL_H, PAD = 46, 24, 8


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
            fill = colour(heatmap.gain(j, value), limit)
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
    parts.append(f'<text class="legend" x="{label_w + 11 * 22 + 8}" y="{legend_y + 10}">{heatmap.scale_label} (points)</text>')
    parts.append("</svg>")
    return "".join(parts)
