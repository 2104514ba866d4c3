"""Delta heatmaps of a transfer report: the data of each figure and its diverging colour scale.

Two kinds of figure: the mean delta per checkpoint and task (rows x target tasks), and for each
task the delta per checkpoint and language. The colour scale diverges around zero: red for a
loss against the baseline, white at zero, blue for a gain (ColorBrewer RdBu, readable by most
colour-blind readers), symmetric, its limit the largest |delta| of the figure rounded up to a
round number. Cells whose difference is significant after the report's adjustment are
outlined and their value carries a `*`; missing cells are grey.

A task whose class declares `higher_is_better = False` has its column's colours turned round:
there a negative delta is a gain and is drawn blue (`Heatmap.gain`); the numbers stay deltas.

Plain Python: the HTML page draws its own inline SVG from these (`render_heatmap_svg`), and
`render_figures` writes SVG and PNG files with matplotlib.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from xharness.leaderboard.adjust import LABELS
from xharness.leaderboard.formats import DASH
from xharness.leaderboard.report import Report

# ColorBrewer RdBu (5 classes), from the most negative to the most positive delta.
ANCHORS = ((-1.0, "#ca0020"), (-0.5, "#f4a582"), (0.0, "#f7f7f7"), (0.5, "#92c5de"), (1.0, "#0571b0"))
MISSING = "#e0e0e0"
NICE_LIMITS = (0.5, 1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100)


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
    lower_is_better: tuple[bool, ...] = ()  # per column; empty: higher is better everywhere

    @property
    def limit(self) -> float:
        return scale_limit([v for row in self.values for v in row])

    @property
    def turned(self) -> bool:
        """Some column counts a negative delta as a gain (the colour scale then shows gains)."""
        return any(self.lower_is_better)

    def gain(self, column: int, value: float | None) -> float | None:
        """The value the colour scale shows: the delta, sign turned where lower is better."""
        if value is None or not (self.lower_is_better and self.lower_is_better[column]):
            return value
        return -value

    @property
    def scale_label(self) -> str:
        return "gain (delta, sign turned where lower is better)" if self.turned else "delta"


def _legend(report: Report) -> str:
    if report.adjust == "none":
        return f"p ≤ {report.alpha:g}, no adjustment"
    return f"adjusted p ≤ {report.alpha:g}, {LABELS[report.adjust].split(' (')[0]} over each task's languages"


def overview_heatmap(report: Report) -> Heatmap:
    """Mean delta per checkpoint (rows) and task (columns)."""
    rows = report.checkpoints
    values, marks = [], []
    lower = tuple(not t.higher_is_better for t in report.tasks)
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
        lower_is_better=lower if any(lower) else (),
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
        lower_is_better=() if info.higher_is_better else (True,) * len(info.languages),
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
        return DASH
    text = f"{value:+.{decimals}f}"
    if text in ("+0.0", "-0.0", "+0.00", "-0.00") and value == 0:
        text = text.replace("+", "").replace("-", "")
    return text + ("*" if significant else "")
