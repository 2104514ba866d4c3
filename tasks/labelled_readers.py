"""Reading one labelled split file into a column table: TSV, JSON lines or parquet.

Text files go through `textfiles` (regular files only, one newline convention); class-label
features of parquet files written by `datasets` are mapped to their names. A `datasets`
save_to_disk folder is read by `datasets` itself (`xharness.tasks.labelled_hub`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xharness.errors import XharnessError
from xharness.textfiles import check_regular_file, decode_lines, read_bytes

LABEL_NAMES = ("label", "gold_label")
LANG_NAMES = ("lang", "language")


@dataclass(frozen=True)
class Schema:
    """What one kind of item is made of: its text fields, each with the column names accepted for it."""

    fields: tuple[str, ...]
    names: tuple[tuple[str, ...], ...]
    labels: tuple[str, ...] = LABEL_NAMES  # the label column's accepted names
    langs: tuple[str, ...] = LANG_NAMES  # the language column's accepted names

    @property
    def all_names(self) -> frozenset[str]:
        return frozenset(n for names in self.names for n in names) | set(self.labels) | set(self.langs) | {"id"}

    def naming(self, *, text: str | None = None, label: str | None = None, lang: str | None = None) -> "Schema":
        """This schema with the columns the user named (`--text-column` ...) as the only accepted names."""
        names = self.names
        if text is not None:
            given = tuple(name.strip().lower() for name in text.split(","))
            if len(given) != len(self.fields):
                raise XharnessError(
                    f"--text-column needs {len(self.fields)} comma-separated name(s) here ({', '.join(self.fields)}), got {text!r}"
                )
            names = tuple((name,) for name in given)
        return replace(
            self,
            names=names,
            labels=self.labels if label is None else (label.strip().lower(),),
            langs=self.langs if lang is None else (lang.strip().lower(),),
        )

    def describe(self) -> str:
        return ", ".join(self.fields) + ", label"


SINGLE = Schema(("text",), (("text", "sentence", "review"),))
PAIR = Schema(
    ("sentence1", "sentence2"),
    (("sentence1", "premise", "text1", "text_a"), ("sentence2", "hypothesis", "hypo", "text2", "text_b")),
)


@dataclass(frozen=True)
class Source:
    """Where the rows of one split are (a file); `lang` None = a language column."""

    split: str
    lang: str | None
    path: Path
    format: str  # tsv, jsonl, parquet; save_to_disk: `path` is the folder, read by `datasets`

@dataclass
class Table:
    """A file's columns (values as read) and where each row came from, for error messages."""

    columns: dict[str, list[Any]]
    where: list[str]  # "line 7" / "row 7" per row
    source: str
    class_names: dict[str, list[str]] = field(default_factory=dict)  # ClassLabel names per column
    positional: bool = False  # a headerless TSV

    def __len__(self) -> int:
        return len(self.where)


# ---------------------------------------------------------------------------------------------
# Reading one file.


def read_tsv(path: Path, schema: Schema) -> Table:
    """A TSV file with a header of known names, or headerless with columns text(s), label."""
    lines = decode_lines(read_bytes(path), source=path)
    if not lines:
        raise XharnessError(f"{path}: file is empty")
    first = [cell.strip().lower() for cell in lines[0].split("\t")]
    known = schema.all_names
    if any(cell in known for cell in first):
        header, body, offset, positional = first, lines[1:], 2, False
        if len(set(header)) != len(header):
            raise XharnessError(f"{path}: the header repeats a column name ({', '.join(header)})")
    else:
        header, body, offset, positional = [*schema.fields, "label"], lines, 1, True
    columns: dict[str, list[Any]] = {name: [] for name in header}
    where = []
    for number, line in enumerate(body, start=offset):
        if not line.strip():
            raise XharnessError(f"{path}: line {number} is blank")
        cells = line.split("\t")
        if len(cells) != len(header):
            hint = ""
            if positional and len(cells) == len(schema.fields):
                hint = "; the label column is missing (XTREME's older downloads removed test labels)"
            elif positional:
                hint = f" ({', '.join(header)}; no header line found: a header must name the columns {schema.describe()})"
            raise XharnessError(f"{path}: line {number} has {len(cells)} tab-separated fields, expected {len(header)}{hint}")
        for name, cell in zip(header, cells):
            columns[name].append(cell)
        where.append(f"line {number}")
    return Table(columns, where, str(path), positional=positional)


def read_jsonl(path: Path) -> Table:
    """One JSON object per line; blank lines are skipped, every object's keys are columns."""
    lines = decode_lines(read_bytes(path), source=path)
    rows, where = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise XharnessError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise XharnessError(f"{path}: line {number} is not a JSON object")
        rows.append(row)
        where.append(f"line {number}")
    if not rows:
        raise XharnessError(f"{path}: file is empty")
    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    columns = {name: [row.get(name) for row in rows] for name in names}
    return Table(columns, where, str(path))


def _pyarrow(what: str):
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise XharnessError(f"reading {what} needs pyarrow, which is not installed (pip install pyarrow)") from None
    return pyarrow


def _class_names(features: Any) -> dict[str, list[str]]:
    """ClassLabel names per column from a `datasets` features mapping (old and new spellings)."""
    names: dict[str, list[str]] = {}
    if isinstance(features, dict):
        for column, feature in features.items():
            if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" and isinstance(feature.get("names"), list):
                names[column] = [str(n) for n in feature["names"]]
    return names


def read_parquet(path: Path) -> Table:
    pa = _pyarrow(f"{path} (parquet)")
    check_regular_file(path, what="a .parquet file", max_bytes=None)
    try:
        table = pa.parquet.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise XharnessError(f"{path}: not a readable parquet file ({exc})") from None
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    where = [f"row {i}" for i in range(1, table.num_rows + 1)]
    if not where:
        raise XharnessError(f"{path}: holds no rows")
    return Table(columns, where, str(path), _schema_class_names(table))


def _schema_class_names(table: Any) -> dict[str, list[str]]:
    """ClassLabel names from the `huggingface` schema metadata that `datasets` writes into its files."""
    metadata = table.schema.metadata or {}
    if b"huggingface" not in metadata:
        return {}
    try:
        return _class_names(json.loads(metadata[b"huggingface"]).get("info", {}).get("features"))
    except (ValueError, AttributeError):
        return {}  # metadata we cannot read only costs the label names


def read_table(source: Source, schema: Schema) -> Table:
    if source.format == "tsv":
        return read_tsv(source.path, schema)
    if source.format == "jsonl":
        return read_jsonl(source.path)
    if source.format == "parquet":
        return read_parquet(source.path)
    raise ValueError(f"unknown format {source.format!r}")


# ---------------------------------------------------------------------------------------------
# From a table to checked examples.
