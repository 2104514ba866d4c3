"""Plain-text tables for the terminal and for log files: aligned columns, no colour codes."""

from __future__ import annotations

from typing import Sequence

from xharness.results import TaskResult


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, align_right_from: int = 1) -> str:
    """Aligned columns; the first `align_right_from` columns are left-aligned, the rest right-aligned."""
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
            means.append(_number(sum(values) / len(values)) if values else "-")
        rows.append(["mean", str(sum(s.n for s in result.scores.values())), *means])
    title = f"{result.task['name']} | {result.model['name']} | main score: {main}"
    return f"{title}\n{format_table(headers, rows)}"
