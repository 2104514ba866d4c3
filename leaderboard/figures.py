"""Delta heatmaps of a transfer report: the data of each figure, its diverging colour scale, and
matplotlib files (SVG, PNG) for papers.

Two kinds of figure: the mean delta per checkpoint and task (rows x target tasks), and for each
task the delta per checkpoint and language. The colour scale diverges around zero: red for a
loss against the baseline, white at zero, blue for a gain (ColorBrewer RdBu, readable by most
colour-blind readers), symmetric, its limit the largest |delta| of the figure rounded up to a
round number. Cells whose difference is significant after the report's adjustment are
outlined and their value carries a `*`; missing cells are grey.

The figure data and the colour function are plain Python (the HTML page draws its own inline
SVG from them); matplotlib is imported only to write files. Files are deterministic: fixed
`svg.hashsalt`, no date or software-version metadata, text drawn as paths.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from xharness.leaderboard.adjust import LABELS
from xharness.leaderboard.report import Report

# ColorBrewer RdBu (5 classes), from the most negative to the most positive delta.
ANCHORS = ((-1.0, "#ca0020"), (-0.5, "#f4a582"), (0.0, "#f7f7f7"), (0.5, "#92c5de"), (1.0, "#0571b0"))
MISSING = "#e0e0e0"
NICE_LIMITS = (0.5, 1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100)
FIGURE_FORMATS = ("svg", "png")
SVG_SALT = "xharness-report"


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def colour(value: float | None, limit: float) -> str:
    """'#rrggbb' for a delta on the symmetric scale [-limit, +limit] (clamped); MISSING for None.

    Example:
        >>> colour(0.0, 10.0), colour(-10.0, 10.0), colour(25.0, 10.0), colour(None, 10.0)
        ('#f7f7f7', '#ca0020', '#0571b0', '#e0e0e0')
    """
    if value is None or not math.isfinite(value):
        return MISSING
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    x = min(max(value / limit, -1.0), 1.0)
    for (x0, c0), (x1, c1) in zip(ANCHORS, ANCHORS[1:]):
        if x <= x1:
            t = (x - x0) / (x1 - x0)
            r0, r1 = _rgb(c0), _rgb(c1)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(r0, r1))
    return ANCHORS[-1][1]


def scale_limit(values: Sequence[float | None]) -> float:
    """The colour scale's limit: the largest |value|, rounded up to a round number (at least 0.5).

    Example:
        >>> scale_limit([-3.2, 0.4, None]), scale_limit([76.3]), scale_limit([0.0]), scale_limit([130.0])
        (5, 80, 0.5, 200)
    """
    largest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    for nice in NICE_LIMITS:
        if largest <= nice:
            return nice
    step = 10 ** math.floor(math.log10(largest))
    return int(math.ceil(largest / step) * step)


@dataclass(frozen=True)
class Heatmap:
    """One figure: row labels (checkpoints), column labels, and per cell the delta and its significance."""

    key: str  # file stem: 'tasks' or 'task-<name>'
    title: str
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    values: tuple[tuple[float | None, ...], ...]
    significant: tuple[tuple[bool, ...], ...]
    caption: str
    column_axis: str  # 'task' or 'language'
    key_text: str = ""  # what '*' means, in a few words (drawn under the figure)

    @property
    def limit(self) -> float:
        return scale_limit([v for row in self.values for v in row])


def _legend(report: Report) -> str:
    if report.adjust == "none":
        return f"p ≤ {report.alpha:g}, no adjustment"
    return f"adjusted p ≤ {report.alpha:g}, {LABELS[report.adjust].split(' (')[0]} over each task's languages"


def overview_heatmap(report: Report) -> Heatmap:
    """Mean delta per checkpoint (rows) and task (columns)."""
    rows = report.checkpoints
    values, marks = [], []
    for ck in rows:
        cells = [ck.task(t.name) for t in report.tasks]
        values.append(tuple(c.mean.delta if c else None for c in cells))
        marks.append(tuple(bool(c and c.mean.significant) for c in cells))
    return Heatmap(
        key="tasks",
        title=f"Mean delta per task against {report.baseline.label}",
        row_labels=tuple(ck.model.label for ck in rows),
        column_labels=tuple(t.name for t in report.tasks),
        values=tuple(values),
        significant=tuple(marks),
        caption=(
            "Each cell: the checkpoint's mean delta over the languages it shares with the baseline, in main-score points. "
            f"* and outline: the mean's bootstrap p ≤ {report.alpha:g} (one test per cell, not adjusted)."
        ),
        column_axis="task",
        key_text=f"* outlined: p ≤ {report.alpha:g} (task mean, not adjusted)",
    )


def task_heatmap(report: Report, task: str) -> Heatmap:
    """Delta per checkpoint (rows) and language (columns) on one task."""
    info = next(t for t in report.tasks if t.name == task)
    rows = [ck for ck in report.checkpoints if ck.task(task) is not None]
    values, marks = [], []
    for ck in rows:
        deltas = ck.task(task)
        cells = [deltas.cell(lang) for lang in info.languages]
        values.append(tuple(c.delta if c else None for c in cells))
        marks.append(tuple(bool(c and c.significant) for c in cells))
    return Heatmap(
        key=f"task-{file_stem(task)}",
        title=f"{task} ({info.main_metric}): delta per language against {report.baseline.label}",
        row_labels=tuple(ck.model.label for ck in rows),
        column_labels=info.languages,
        values=tuple(values),
        significant=tuple(marks),
        caption=f"Each cell: checkpoint − baseline in main-score points. * and outline: {_legend(report)}.",
        column_axis="language",
        key_text=f"* outlined: {_legend(report)}",
    )


def heatmaps(report: Report) -> list[Heatmap]:
    """The overview, then one figure per task that some checkpoint has."""
    figures = [overview_heatmap(report)]
    figures += [task_heatmap(report, t.name) for t in report.tasks if t.languages]
    return figures


def file_stem(name: str) -> str:
    """A file-name-safe form of a task name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "task"


def cell_text(value: float | None, significant: bool, *, decimals: int = 1) -> str:
    if value is None:
        return "–"
    text = f"{value:+.{decimals}f}"
    if text in ("+0.0", "-0.0", "+0.00", "-0.00") and value == 0:
        text = text.replace("+", "").replace("-", "")
    return text + ("*" if significant else "")


def _plain(text: str) -> str:
    """One line of printable text (matplotlib draws control characters as boxes)."""
    return "".join(ch if ch.isprintable() else "?" for ch in " ".join(str(text).split()))


def _short(text: str, width: int = 32) -> str:
    text = _plain(text)
    return text if len(text) <= width else text[: width - 1] + "…"


# -- matplotlib files -------------------------------------------------------------------------


def draw(heatmap: Heatmap):
    """A matplotlib Figure of the heatmap (no pyplot: no global state, no GUI backend)."""
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    n_rows, n_cols = len(heatmap.row_labels), len(heatmap.column_labels)
    limit = heatmap.limit
    grid = np.array([[np.nan if v is None else v for v in row] for row in heatmap.values], dtype=float).reshape(n_rows, n_cols)
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
    colorbar.set_label("delta (main-score points)", fontsize=8)
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
