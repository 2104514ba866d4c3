"""A report's delta heatmaps as matplotlib files (SVG and PNG, one drawing saved in either format) for papers.

Files are deterministic: fixed `svg.hashsalt`, no date or software-version metadata, text drawn
as paths. matplotlib is imported only here, and only when a file is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from xharness.leaderboard.formats import plain as _plain
from xharness.leaderboard.heatmaps import ANCHORS, MISSING, Heatmap, cell_text, heatmaps
from xharness.leaderboard.report import Report

FIGURE_FORMATS = ("svg", "png")
SVG_SALT = "xharness-report"


def _short(text: str, width: int = 32) -> str:
    text = _plain(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def draw(heatmap: Heatmap):
    """A matplotlib Figure of the heatmap (no pyplot: no global state, no GUI backend)."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n_rows, n_cols = len(heatmap.row_labels), len(heatmap.column_labels)
    limit = heatmap.limit
    gains = [[heatmap.gain(j, v) for j, v in enumerate(row)] for row in heatmap.values]
    grid = np.array([[np.nan if v is None else v for v in row] for row in gains], dtype=float).reshape(n_rows, n_cols)
    data = np.ma.masked_invalid(grid)
    cmap = LinearSegmentedColormap.from_list("xharness-diverging", [((x + 1) / 2, c) for x, c in ANCHORS]).with_extremes(bad=MISSING)
    fig = Figure(figsize=(2.2 + 0.5 * n_cols + 1.2, 1.4 + 0.38 * n_rows), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(data, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    rotate = max((len(c) for c in heatmap.column_labels), default=0) > 3
    ax.set_xticks(range(n_cols), labels=[_short(c, 16) for c in heatmap.column_labels], parse_math=False,
                  rotation=45 if rotate else 0, ha="right" if rotate else "center", fontsize=8)
    ax.set_yticks(range(n_rows), labels=[_short(r) for r in heatmap.row_labels], parse_math=False, fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for i, row in enumerate(heatmap.values):
        for j, value in enumerate(row):
            significant = heatmap.significant[i][j]
            dark = value is not None and abs(value) > 0.6 * limit
            ax.text(j, i, cell_text(value, significant), ha="center", va="center", fontsize=6.5,
                    color="white" if dark else "#1d1d1f", fontweight="bold" if significant else "normal", parse_math=False)
            if significant:
                ax.add_patch(Rectangle((j - 0.5 + 0.04, i - 0.5 + 0.04), 0.92, 0.92, fill=False, edgecolor="#1d1d1f", linewidth=1.2))
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9 if n_rows > 3 else 1.0, aspect=max(8, 4 * n_rows))
    colorbar.set_label(f"{heatmap.scale_label} (main-score points)", fontsize=8)
    colorbar.ax.tick_params(labelsize=7)
    ax.set_title(_plain(heatmap.title), fontsize=9, loc="left", parse_math=False)
    ax.set_xlabel(heatmap.column_axis + (f"\n{heatmap.key_text}" if heatmap.key_text else ""), fontsize=8, parse_math=False)
    return fig


def save(heatmap: Heatmap, path: Path, fmt: str) -> Path:
    """Write one figure file; the same heatmap always gives the same bytes."""
    import matplotlib

    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"figure format must be one of {', '.join(FIGURE_FORMATS)}, got {fmt!r}")
    rc = {"svg.hashsalt": SVG_SALT, "svg.fonttype": "path", "font.family": "DejaVu Sans", "axes.unicode_minus": True}
    with matplotlib.rc_context(rc):
        fig = draw(heatmap)
        if fmt == "svg":
            fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "xharness report"})
        else:
            fig.savefig(path, format="png", dpi=200, metadata={"Software": None})
    return path


def write_figures(report: Report, out_dir: Path, formats: Sequence[str] = FIGURE_FORMATS, *, prefix: str = "report-") -> list[Path]:
    """Write every heatmap of the report in each format: `<prefix>tasks.svg`, `<prefix>task-<task>.png`..."""
    import os
    import tempfile

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mask = os.umask(0)
    os.umask(mask)
    paths = []
    for heatmap in heatmaps(report):
        for fmt in dict.fromkeys(formats):
            path = out_dir / f"{prefix}{heatmap.key}.{fmt}"
            # Written beside, then renamed: a reader never sees half a figure.
            fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            try:
                save(heatmap, Path(tmp), fmt)
                os.chmod(tmp, 0o666 & ~mask)  # published files: readable like any other, not 0600
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            paths.append(path)
    return paths
