"""Writing a transfer report: one renderer module per format (`render_report_md`, `render_report_html`,
`render_report_json`), then the figure files (`render_figures`).

Markdown: a summary table (mean delta per task, overall), then per task a compact
checkpoint x language table of deltas and the full per-language numbers (scores, delta,
interval, p, adjusted p). HTML: the same, with the heatmaps drawn as inline SVG (nothing
fetched; the Content-Security-Policy forbids any network access and any script). JSON: every
number, unrounded. Every string from a result file or a names file is escaped (Markdown and
HTML) and the adjustment used is stated in every format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from xharness.fileio import atomic_write_text
from xharness.leaderboard.render_report_html import render_html
from xharness.leaderboard.render_report_json import render_json
from xharness.leaderboard.render_report_md import render_markdown
from xharness.leaderboard.report import Report

FORMATS: dict[str, tuple[str, Callable[[Report], str]]] = {
    "md": ("report.md", render_markdown),
    "html": ("report.html", render_html),
    "json": ("report.json", render_json),
}


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt][1](report)


def write_report(report: Report, out_dir: Path, formats: Iterable[str], *, figure_formats: Iterable[str] = ()) -> list[Path]:
    """Write `report.<ext>` per format, then the figure files, into `out_dir`; returns the paths."""
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
        from xharness.leaderboard.render_figures import write_figures

        paths += write_figures(report, out_dir, figure_formats)
    return paths
