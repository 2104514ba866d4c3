"""The leaderboard as data for scripts: JSON (the whole structure) and CSV (one tidy row per number).

Numbers are rounded to 4 decimals (of the x100 scores) so that regenerating gives the same
bytes everywhere; strings are written as they are (JSON escapes what it must). In CSV, a
text cell that a spreadsheet would run as a formula (starting with = + - @ or a control
character) is prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from xharness.leaderboard.tables import Leaderboard

FORMAT_NAME = "xharness-leaderboard"
FORMAT_VERSION = 1
DECIMALS = 4


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def leaderboard_dict(board: Leaderboard) -> dict[str, Any]:
    """The whole leaderboard as plain JSON-ready data."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "title": board.title,
        "generated": board.generated,
        "filters": {"tasks": list(board.task_filter), "languages": list(board.language_filter)},
        "conventions": {
            "task_average": "unweighted mean of main_score over the task's languages",
            "complete": "a score for every language of the task's table (every task, for the overview)",
            "ranking": "complete models by average, highest first; competition ranks on averages rounded to 2 decimals",
            "overall_average": "unweighted mean of the task averages, complete models only",
        },
        "overview": {
            "tasks": list(board.overview.tasks),
            **({} if board.overview.higher_is_better else {"higher_is_better": False}),
            **({"left_out_of_average": list(board.overview.left_out)} if board.overview.left_out else {}),
            "rows": [
                {
                    "model": row.model,
                    "rank": row.rank,
                    "complete": row.complete,
                    "average": _num(row.average),
                    "tasks": {
                        task: {"average": _num(row.averages[task]), "complete": row.task_complete[task]}
                        for task in board.overview.tasks
                    },
                    "missing": list(row.missing),
                }
                for row in board.overview.rows
            ],
        },
        "tasks": [
            {
                "task": table.task,
                "table": table.column,
                "data": table.data_label,
                "main_metric": table.main_metric,
                **({} if table.higher_is_better else {"higher_is_better": False}),
                "languages": list(table.languages),
                "rows": [
                    {
                        "model": row.model,
                        "rank": row.rank,
                        "complete": row.complete,
                        "average": _num(row.average),
                        "n_languages": row.n_languages,
                        "scores": {lang: _num(v) for lang, v in row.scores.items()},
                        "source": row.source,
                    }
                    for row in table.rows
                ],
                "reported": [
                    {**ref.to_dict(), "note": "reported, not run here"} for ref in table.references
                ],
                **({"baselines": {name: {lang: _num(v) for lang, v in values.items()} for name, values in table.baselines}}
                   if table.baselines else {}),
                "notes": list(table.notes),
            }
            for table in board.tasks
        ],
        "sources": list(board.sources),
        "skipped": [{"source": s, "reason": r} for s, r in board.skipped],
    }


def render_json(board: Leaderboard) -> str:
    return json.dumps(leaderboard_dict(board), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


CSV_COLUMNS = ("task", "model", "kind", "language", "value", "rank", "complete", "source")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, DECIMALS))
    text = str(value)
    if text and (text[0] in "=+-@" or ord(text[0]) < 32):
        return "'" + text
    return text


def csv_rows(board: Leaderboard) -> list[tuple]:
    """Tidy rows: kind is `score` (one language), `average` (task average), `overall`, `reported` or `baseline`."""
    rows: list[tuple] = []
    for row in board.overview.rows:
        rows.append(("", row.model, "overall", "", row.average, row.rank, row.complete, ""))
    for table in board.tasks:
        for row in table.rows:
            rows.append((table.column, row.model, "average", "", row.average, row.rank, row.complete, row.source))
            for lang in table.languages:
                rows.append((table.column, row.model, "score", lang, row.scores[lang], None, None, row.source))
        for ref in table.references:
            rows.append((table.column, ref.model, "reported", ref.language or ref.scope, ref.value, None, None, ref.source))
        for name, values in table.baselines:
            for lang in table.languages:
                if values[lang] is not None:
                    rows.append((table.column, name, "baseline", lang, values[lang], None, None, ""))
    return rows


def render_csv(board: Leaderboard) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(board):
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()
