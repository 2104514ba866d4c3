"""Published reference rows: numbers reported in papers, shown beside a leaderboard, never run here.

The data lives in `references.json` beside this module. Each row records the model, task,
language (or, for an average, `language: null` and the `scope` it averages over), the value
on the task's main metric, where in which paper it was read, and the protocol behind it.
A row may name the `data` it was published on (a data set id of `known_data.json`, e.g.
`laser-tatoeba-v1`): it is then shown only under a table of that data (full files, no
--limit); a row without `data` is shown under every table of its task.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from xharness.errors import XharnessError

REFERENCES_FILE = "references.json"


@dataclass(frozen=True)
class ReferenceRow:
    model: str
    task: str
    metric: str
    language: str | None  # None: an average over `scope`
    scope: str
    value: float
    source: str
    protocol: str
    data: str | None = None  # the known data set it was published on; None: any

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": self.task,
            "metric": self.metric,
            "language": self.language,
            "scope": self.scope,
            "value": self.value,
            "source": self.source,
            "protocol": self.protocol,
            **({"data": self.data} if self.data is not None else {}),
        }


def _text(row: dict, key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise XharnessError(f"{where}: field '{key}' must be a non-empty string")
    return value


def parse_references(data: Any, *, where: str = REFERENCES_FILE) -> list[ReferenceRow]:
    """Validate the reference-rows mapping and return its rows in file order."""
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise XharnessError(f"{where}: expected an object with a 'rows' list")
    rows = []
    for i, row in enumerate(data["rows"]):
        at = f"{where}: rows[{i}]"
        if not isinstance(row, dict):
            raise XharnessError(f"{at} is not an object")
        value = row.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise XharnessError(f"{at}: 'value' must be a finite number")
        language = row.get("language")
        if language is not None and (not isinstance(language, str) or not language):
            raise XharnessError(f"{at}: 'language' must be a language code or null (an average)")
        source = row.get("source")
        if not isinstance(source, dict):
            raise XharnessError(f"{at}: 'source' must be an object with 'paper' and 'where'")
        data = row.get("data")
        if data is not None and (not isinstance(data, str) or not data):
            raise XharnessError(f"{at}: 'data' must be a known data set id (e.g. laser-tatoeba-v1) or absent")
        scope = row.get("scope") if language is None else language
        rows.append(
            ReferenceRow(
                model=_text(row, "model", at),
                task=_text(row, "task", at),
                metric=_text(row, "metric", at),
                language=language,
                scope=scope if isinstance(scope, str) and scope else _text(row, "scope", at),
                value=float(value),
                source=f"{_text(source, 'paper', at + '.source')}, {_text(source, 'where', at + '.source')}",
                protocol=_text(row, "protocol", at),
                data=data,
            )
        )
    return rows


def load_references(path: Path | None = None) -> list[ReferenceRow]:
    """The packaged reference rows, or those of another file in the same format."""
    if path is None:
        text = resources.files("xharness.leaderboard").joinpath(REFERENCES_FILE).read_text(encoding="utf-8")
        where = REFERENCES_FILE
    else:
        try:
            from xharness.textfiles import read_bytes

            text = read_bytes(Path(path)).decode("utf-8")  # a regular file only: a pipe here must not block
        except (OSError, UnicodeDecodeError) as exc:
            raise XharnessError(f"{path}: cannot read the reference rows ({exc})") from None
        where = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise XharnessError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_references(data, where=where)
