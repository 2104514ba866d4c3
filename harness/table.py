"""Plain-text tables for the terminal and for log files: aligned columns, no colour codes."""

from __future__ import annotations

import math
from typing import Sequence

from xharness.results import TaskResult


def printable(text: str) -> str:
    """`text` with every control or other unprintable character shown as its escape (`\\x1b`, `\\n`).

    Names come from users and files; a terminal must not act on them, a table must stay one line a row.

    >>> printable("model\\x1b[2J\\tv2")
    'model\\\\x1b[2J\\\\tv2'
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def plural(count: int, noun: str) -> str:
    """`1 language`, `2 languages`.

    >>> plural(1, "language"), plural(0, "layer")
    ('1 language', '0 layers')
    """
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, align_right_from: int = 1) -> str:
    """Aligned columns; the first `align_right_from` columns are left-aligned, the rest right-aligned."""
    headers = [printable(h) for h in headers]
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i < align_right_from else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _mean(values: Sequence[float]) -> float:
    total = sum(values)
    # Valid metrics may be any finite number (thresholds): their sum may overflow where their mean does not.
    return total / len(values) if math.isfinite(total) else sum(v / len(values) for v in values)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def result_table(result: TaskResult) -> str:
    """The per-language table of one result: every metric, the item count, and the unweighted mean."""
    metrics: list[str] = []
    for score in result.scores.values():
        for name in score.metrics:
            if name not in metrics:
                metrics.append(name)
    main = result.main_metric
    if main in metrics:
        metrics.remove(main)
        metrics.insert(0, main)
    headers = ["lang", "n", *metrics]
    rows = []
    for lang, score in result.scores.items():
        rows.append([lang, str(score.n), *(_number(score.metrics.get(m)) for m in metrics)])
    if len(result.scores) > 1:
        means = []
        for m in metrics:
            values = [s.metrics[m] for s in result.scores.values() if s.metrics.get(m) is not None]
            means.append(_number(_mean(values)) if values else "-")
        # The mean is over languages, unweighted: a summed n would read as the items behind it.
        rows.append(["mean", "-", *means])
    title = printable(f"{result.task['name']} | {result.model['name']} | main score: {main}")
    return f"{title}\n{format_table(headers, rows)}"
