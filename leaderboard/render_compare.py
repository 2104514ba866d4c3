"""A comparison as a terminal table, as Markdown, and as JSON.

Differences are B - A. A row is flagged (`*` / `yes`) when its adjusted bootstrap p-value is at
most 1 - confidence (Holm by default, as `report`), or with `--adjust none` when its interval
excludes zero; the legend says which. Strings from result files are escaped for Markdown and stripped of control characters
for the terminal (a model name cannot move the cursor or change colours).
"""

from __future__ import annotations

import json
from typing import Any

from xharness.leaderboard.adjust import LABELS
from xharness.leaderboard.compare import Comparison
from xharness.leaderboard.formats import DASH, format_delta, format_interval, format_score, md_text, plain
from xharness.table import format_table

_score, _delta, _interval = format_score, format_delta, format_interval


def _rows(comparison: Comparison):
    for task in comparison.tasks:
        yield from task.rows
        if task.average is not None:
            yield task.average


def _legend(comparison: Comparison, *, marker: str = "*") -> str:
    level = f"{comparison.confidence:.0%}"
    if comparison.adjust == "none":
        rule = "the interval excludes 0 (no multiple-comparison adjustment)"
    else:
        rule = (
            f"bootstrap p <= {1 - comparison.confidence:.2g} after {LABELS[comparison.adjust]} adjustment "
            "over each task's languages (the average: one test, not adjusted)"
        )
    return (
        f"delta = B - A; {level} paired bootstrap interval ({comparison.n_resamples} resamples, seed {comparison.seed}); "
        f"sig {marker} = {rule}"
    )


def render_text(comparison: Comparison) -> str:
    level = f"{comparison.confidence:.0%} CI"
    headers = ["task", "lang", "n", f"A: {plain(comparison.model_a)}", f"B: {plain(comparison.model_b)}", "delta", level, "sig"]
    rows = [
        [plain(r.task), plain(r.language), DASH if r.n is None else str(r.n), _score(r.score_a), _score(r.score_b),
         _delta(r.delta), _interval(r), "*" if r.significant else ""]
        for r in _rows(comparison)
    ]
    lines = [
        f"A: {plain(comparison.model_a)} ({plain(comparison.source_a)})",
        f"B: {plain(comparison.model_b)} ({plain(comparison.source_b)})",
        "",
        format_table(headers, rows, align_right_from=2),
        "",
        _legend(comparison),
    ]
    lines += _notes(comparison, plain)
    return "\n".join(lines) + "\n"


def _notes(comparison: Comparison, text) -> list[str]:
    notes = []
    for task in comparison.tasks:
        notes.append(f"{text(task.task)}: resampled units: {text(task.unit)}")
        if not task.higher_is_better:
            notes.append(f"{text(task.task)}: lower is better: a negative delta is a gain")
        for row in task.rows + ((task.average,) if task.average else ()):
            if row.note:
                notes.append(f"{text(task.task)}/{text(row.language)}: {text(row.note)}")
        if task.only_a:
            notes.append(f"{text(task.task)}: only in A: {text(', '.join(task.only_a))}")
        if task.only_b:
            notes.append(f"{text(task.task)}: only in B: {text(', '.join(task.only_b))}")
    if comparison.tasks_only_a:
        notes.append(f"tasks only in A: {text(', '.join(comparison.tasks_only_a))}")
    if comparison.tasks_only_b:
        notes.append(f"tasks only in B: {text(', '.join(comparison.tasks_only_b))}")
    return notes


def render_markdown(comparison: Comparison) -> str:
    level = f"{comparison.confidence:.0%} CI"
    lines = [
        f"# {md_text(comparison.model_b)} vs {md_text(comparison.model_a)}",
        "",
        f"- A: {md_text(comparison.model_a)} ({md_text(comparison.source_a)})",
        f"- B: {md_text(comparison.model_b)} ({md_text(comparison.source_b)})",
        "",
        f"| task | lang | n | A | B | delta | {level} | sig |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in _rows(comparison):
        n = DASH if r.n is None else str(r.n)
        lines.append(
            f"| {md_text(r.task)} | {md_text(r.language)} | {n} | {_score(r.score_a)} | {_score(r.score_b)} | "
            f"{_delta(r.delta)} | {_interval(r)} | {'yes' if r.significant else ''} |"
        )
    lines += ["", md_text(_legend(comparison, marker="yes")) + "."]
    notes = _notes(comparison, md_text)
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    return {
        "format": "xharness-comparison",
        "version": 1,
        "a": {"model": comparison.model_a, "source": comparison.source_a},
        "b": {"model": comparison.model_b, "source": comparison.source_b},
        "delta": "B - A",
        "bootstrap": {"resamples": comparison.n_resamples, "seed": comparison.seed, "confidence": comparison.confidence,
                      "interval": "percentile", "adjust": comparison.adjust},
        "tasks": [
            {
                "task": t.task,
                "main_metric": t.main_metric,
                "resampled_units": t.unit,
                "languages": [r.to_dict() for r in t.rows],
                "average": t.average.to_dict() if t.average else None,
                "only_a": list(t.only_a),
                "only_b": list(t.only_b),
                # Present (false) only for lower-is-better tasks: files of the usual direction keep their bytes.
                **({} if t.higher_is_better else {"higher_is_better": False}),
            }
            for t in comparison.tasks
        ],
        "tasks_only_a": list(comparison.tasks_only_a),
        "tasks_only_b": list(comparison.tasks_only_b),
    }


def render_json(comparison: Comparison) -> str:
    return json.dumps(comparison_dict(comparison), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


RENDERERS = {"text": render_text, "md": render_markdown, "json": render_json}
