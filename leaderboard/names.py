"""The names file of `xharness report`: display names, and the intermediate task each checkpoint saw.

A small TOML (``.toml``, read with the standard library's ``tomllib``, Python 3.11+) or JSON
file. One entry per model under ``models``, keyed by the model's slug (its folder name under
the results folder, ``results/<slug>/``; the model's recorded name works too, and so does the
report's ``name [folder]`` label where one name is in two folders):

.. code-block:: toml

    # names.toml
    [models.xlm-roberta-large]
    name = "XLM-R"                # how the row reads (default: the model's name)
    intermediate = "none"         # the intermediate task this checkpoint was trained on

    [models.xlmr-large-mnli-en]
    name = "MNLI"
    intermediate = "MNLI (English)"

    [models.xlmr-large-squad-en]
    name = "SQuAD"
    intermediate = "SQuAD v1.1 (English)"

or, in JSON, ``{"models": {"xlmr-large-mnli-en": {"name": "MNLI", "intermediate": "MNLI (English)"}}}``.
A bare string is short for a display name: ``xlmr-large-mnli-en = "MNLI"``. Both fields are
optional; a model with only ``intermediate`` is shown under that. Rows follow the file's order,
then models the file does not name, by name. Entries for models that are not in the results
folder are ignored (one file can serve several folders). Unknown fields, two models with one
display name, and empty strings are errors, so a typo does not silently fall back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from xharness.errors import XharnessError

FIELDS = ("name", "intermediate")


@dataclass(frozen=True)
class ModelNames:
    """What the names file says about one model (either may be None)."""

    name: str | None = None
    intermediate: str | None = None


@dataclass(frozen=True)
class NamesFile:
    """Entries by key (a slug, a model name, or `name [folder]` for one name in two folders), in the file's order."""

    entries: Mapping[str, ModelNames]
    source: str | None = None

    def lookup(self, *keys: str) -> tuple[int | None, ModelNames]:
        """(position in the file or None, entry) for a model, found by the first of `keys` the file has
        (the report passes the folder-qualified label, the folder, the slug, then the name)."""
        for key in keys:
            if key in self.entries:
                return list(self.entries).index(key), self.entries[key]
        return None, ModelNames()


EMPTY = NamesFile(entries={})


def _load_toml(path: Path, text: str) -> Any:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise XharnessError(f"{path}: reading TOML needs Python 3.11+ (or the tomli package); write the names file as JSON") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise XharnessError(f"{path}: not valid TOML ({exc})") from None


def parse_names(data: Any, *, source: str = "names file") -> NamesFile:
    """Validate a parsed names mapping (see the module docstring)."""
    if not isinstance(data, dict):
        raise XharnessError(f"{source}: must hold a table/object with a 'models' entry")
    unknown = sorted(set(data) - {"models"})
    if unknown:
        raise XharnessError(f"{source}: unknown top-level field(s) {', '.join(map(repr, unknown))} (expected 'models')")
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise XharnessError(f"{source}: 'models' must be a table/object keyed by model slug")
    entries: dict[str, ModelNames] = {}
    shown: dict[str, str] = {}
    for key, value in models.items():
        where = f"{source}: models.{key}"
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict):
            raise XharnessError(f"{where}: must be a display name or a table with 'name' and/or 'intermediate'")
        extra = sorted(set(value) - set(FIELDS))
        if extra:
            raise XharnessError(f"{where}: unknown field(s) {', '.join(map(repr, extra))} (expected {', '.join(FIELDS)})")
        fields = {}
        for field in FIELDS:
            item = value.get(field)
            if item is not None and (not isinstance(item, str) or not item.strip()):
                raise XharnessError(f"{where}.{field}: must be a non-empty string")
            fields[field] = " ".join(item.split()) if item is not None else None
        entry = ModelNames(**fields)
        label = entry.name or entry.intermediate
        if label is not None:
            if label in shown:
                raise XharnessError(f"{source}: models {shown[label]} and {key} would both read '{label}'; give them different names")
            shown[label] = key
        entries[str(key)] = entry
    return NamesFile(entries=entries, source=source)


def load_names(path: Path | None) -> NamesFile:
    """Read a names file (TOML by its .toml suffix, JSON otherwise); None gives no names."""
    if path is None:
        return EMPTY
    path = Path(path)
    if not path.exists():
        raise XharnessError(f"{path}: names file not found")
    from xharness.textfiles import read_bytes

    try:
        text = read_bytes(path).decode("utf-8")  # a regular file only: a pipe here must not block
    except (OSError, UnicodeDecodeError) as exc:
        raise XharnessError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    if path.suffix.lower() == ".toml":
        data = _load_toml(path, text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise XharnessError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                                "a TOML names file needs the .toml suffix") from None
    return parse_names(data, source=str(path))
