"""Labelled multilingual data for the classification probes: the layouts people have, read into one shape.

A task reads one kind of item (a sentence, or a sentence pair) with a label, in splits `train`,
`dev` and `test`, per language. This module finds those splits under a folder and reads them,
with one-line `XharnessError`s naming the file and line (or row) of any problem.

The generic layout (any labelled multilingual set can be dropped in)::

    DIR/
        train-en.tsv      English training split (required)
        dev-en.tsv        English dev split (optional: chooses the probe's regularisation)
        test-en.tsv       English test split (optional: English is then scored too)
        test-de.tsv       one test file per language; the code after the first '-' is the language
        ...

- Splits: `train`, `dev` (also spelled `validation` or `valid`), `test`.
- Formats, by extension: `.tsv` (UTF-8, tab-separated, no quoting: a field holds no tab or
  newline), `.jsonl` (one JSON object per line), `.parquet` (needs `pyarrow`).
- Instead of a file per language, one file per split with a language column:
  `train.tsv`, `dev.tsv`, `test.tsv` (or `.jsonl`, `.parquet`) with a `lang` or `language`
  column. A train or dev file without a language column is English.
- Or a folder written by `datasets`' `save_to_disk` (it holds `dataset_dict.json`), read by
  `datasets` itself (`load_from_disk`; see `xharness.tasks.labelled_hub`): splits `train`,
  `validation`/`dev`, `test` with a language column, or split names `test_de`, `validation_en`,
  ... (`datasets` allows no '-' in split names); a `ClassLabel` label becomes its names, as it
  does for parquet files that carry `datasets` metadata. `--data-dir hf:...` reads Hugging Face
  data sets the same way.
- Columns, by name (first match wins): single sentences `text` (or `sentence`, `review`);
  pairs `sentence1` (or `premise`, `text1`, `text_a`) and `sentence2` (or `hypothesis`,
  `hypo`, `text2`, `text_b`); the label `label` (or `gold_label`); the language `lang` (or
  `language`). Other columns are ignored. `--text-column` (two names, comma-separated, for
  pairs), `--label-column` and `--lang-column` name other columns (then only that name is
  accepted). A TSV file's first line is its header when it holds any of these names; otherwise the file has no header and its columns are, in order, the
  text(s) and the label (XTREME's files).
- Labels are compared as strings ("1" and 1 are the same label); every test label must occur
  in the English training split. A row whose text is empty is skipped and counted (the
  PAWS-X release has such rows); an empty label is an error.

Layouts of the published sets (verified against XTREME's `utils_preprocess.py`,
`scripts/download_data.sh` and `third_party/processors/{pawsx,xnli}.py`):

- XTREME download, PAWS-X: `pawsx/train-en.tsv`, `dev-{lg}.tsv`, `test-{lg}.tsv` for
  de en es fr ja ko zh; no header, no id column: `sentence1<TAB>sentence2<TAB>label` (0/1),
  written with `csv.QUOTE_NONE` and read back with quoting off, as here. (Older XTREME
  versions wrote test files without labels; those give a clear error, not silent zeros.)
- XTREME download, XNLI: `xnli/train-en.tsv` (MultiNLI's English train),
  `dev-{lg}.tsv`, `test-{lg}.tsv` for ar bg de el en es fr hi ru sw th tr ur vi zh; no
  header: `premise<TAB>hypothesis<TAB>label`, labels entailment/neutral/contradiction.
- The original PAWS-X release `x-final/{lg}/`: `en/train.tsv` (English train),
  `{lg}/dev_2k.tsv`, `{lg}/test_2k.tsv`, header `id sentence1 sentence2 label`
  (`translated_train.tsv`, machine-translated training data, is not used: the probe is
  trained on English only).
- The original XNLI release: `XNLI-1.0/xnli.{dev,test}.{tsv,jsonl}`, one file per split with
  a `language` column, `sentence1`/`sentence2`/`gold_label`; English train from
  `XNLI-MT-1.0/multinli/multinli.train.en.tsv` (header `premise hypo label`, where the label
  `contradictory` means `contradiction`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from xharness.errors import XharnessError
from xharness.hashing import sha256_file
from xharness.tasks.labelled_readers import Schema, Source, Table, read_table
from xharness.textfiles import check_regular_file

SPLIT_ALIASES: Mapping[str, str] = {"train": "train", "dev": "dev", "validation": "dev", "valid": "dev", "test": "test"}
TRAIN_LANGUAGE = "en"

_FILE = re.compile(r"^(?P<split>train|dev|validation|valid|test)(?:-(?P<lang>[A-Za-z0-9][A-Za-z0-9_-]*))?\.(?P<ext>tsv|jsonl|parquet)$")
# A `datasets` split name: `test`, `test_de`, `validation_en` (no '-' allowed there).
HF_SPLIT = re.compile(r"^(?P<split>train|dev|validation|valid|test)(?:_(?P<lang>[A-Za-z0-9][A-Za-z0-9_]*))?$")


@dataclass(frozen=True)
class Examples:
    """One split of one language, read and checked: `texts[k][i]` is text field k of item i."""

    split: str
    lang: str
    texts: tuple[tuple[str, ...], ...]
    labels: tuple[str, ...]
    source: str
    where: tuple[str, ...] = ()  # "line 7" / "row 7" of each item, for messages
    skipped: int = 0
    files: tuple[Path, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> "Examples":
        """The first n items (all when n is None)."""
        if n is None or n >= len(self):
            return self
        return Examples(
            self.split, self.lang, tuple(t[:n] for t in self.texts), self.labels[:n], self.source,
            self.where[:n], self.skipped, self.files,
        )


def _column(table: Table, accepted: Sequence[str], what: str, *, required: bool = True) -> str | None:
    lowered = {name.strip().lower(): name for name in table.columns}
    for name in accepted:
        if name in lowered:
            return lowered[name]
    if required:
        raise XharnessError(
            f"{table.source}: no {what} column (accepted names: {', '.join(accepted)}; "
            f"columns found: {', '.join(map(str, table.columns)) or 'none'})"
        )
    return None


def _text(value: Any, where: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise XharnessError(f"{source}: {where} has a text that is not a string ({type(value).__name__})")
    return value.strip()


def _label(value: Any, where: str, source: str, names: list[str] | None) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if names is not None:
            if not 0 <= value < len(names):
                raise XharnessError(f"{source}: {where} has label {value}, outside the {len(names)} class names")
            return names[value]
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None or (isinstance(value, str) and not value.strip()):
        raise XharnessError(f"{source}: {where} has an empty label")
    raise XharnessError(f"{source}: {where} has a label that is neither text nor a whole number ({value!r})")


def normalise_lang(code: Any) -> str:
    return str(code).strip().lower().replace("_", "-")


def table_languages(table: Table, schema: Schema) -> list[str] | None:
    """The languages of a table's language column, sorted (None when it has none)."""
    column = _column(table, schema.langs, "language", required=False)
    if column is None:
        return None
    return sorted({normalise_lang(v) for v in table.columns[column] if v is not None and str(v).strip()})


def examples_from_table(
    table: Table,
    schema: Schema,
    *,
    split: str,
    lang: str,
    filter_lang: bool,
    label_map: Callable[[str], str] | None = None,
    files: tuple[Path, ...] = (),
) -> Examples:
    """The rows of `lang` (all rows when not `filter_lang`), with empty-text rows skipped and counted."""
    if table.positional:
        text_columns = list(schema.fields)
        label_column = "label"
    else:
        text_columns = [_column(table, names, f"'{field}'") for field, names in zip(schema.fields, schema.names)]
        label_column = _column(table, schema.labels, "label")
    lang_column = _column(table, schema.langs, "language", required=False) if filter_lang else None
    if filter_lang and lang_column is None:
        raise XharnessError(f"{table.source}: no language column ({' or '.join(schema.langs)}) to select '{lang}' from")
    names = table.class_names.get(label_column)
    texts: list[list[str]] = [[] for _ in text_columns]
    labels: list[str] = []
    kept_where: list[str] = []
    skipped = 0
    for i, where in enumerate(table.where):
        if lang_column is not None and normalise_lang(table.columns[lang_column][i]) != lang:
            continue
        values = [_text(table.columns[c][i], where, table.source) for c in text_columns]
        if not all(values):
            skipped += 1  # PAWS-X ships rows whose sentences failed to translate
            continue
        label = _label(table.columns[label_column][i], where, table.source, names)
        labels.append(label_map(label) if label_map else label)
        kept_where.append(where)
        for k, value in enumerate(values):
            texts[k].append(value)
    source = table.source + (f" (language '{lang}')" if lang_column is not None else "")
    if not labels:
        reason = f", all {skipped} rows have an empty text" if skipped else ""
        raise XharnessError(f"{source}: the {split} split is empty{reason}")
    return Examples(split, lang, tuple(tuple(t) for t in texts), tuple(labels), source, tuple(kept_where), skipped, files)


# ---------------------------------------------------------------------------------------------
# Finding the splits under a folder.


def flat_sources(folder: Path, *, prefixes: Sequence[str] = ("",)) -> list[Source]:
    """`{split}-{lang}.{ext}` and `{split}.{ext}` files directly in `folder` (optionally name-prefixed)."""
    if not folder.is_dir():
        return []
    sources = []
    for path in sorted(folder.iterdir()):
        for prefix in prefixes:
            if not path.name.startswith(prefix):
                continue
            match = _FILE.match(path.name[len(prefix):])
            if match and not path.is_file():
                # Named like a split's file but a folder, pipe or device: say so, rather than report the split missing.
                check_regular_file(path, what=f"a .{match['ext']} file")
            if match and path.is_file():
                lang = normalise_lang(match["lang"]) if match["lang"] else None
                sources.append(Source(SPLIT_ALIASES[match["split"]], lang, path, match["ext"]))
                break
    return sources


def is_save_to_disk(folder: Path) -> bool:
    """True for a folder written by `datasets`' `save_to_disk` (a DatasetDict's or a Dataset's)."""
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def pawsx_release_sources(folder: Path) -> list[Source]:
    """The original PAWS-X release: `en/train.tsv`, `{lg}/dev_2k.tsv`, `{lg}/test_2k.tsv`."""
    if not folder.is_dir():
        return []
    sources = []
    if (folder / "en" / "train.tsv").is_file():
        sources.append(Source("train", "en", folder / "en" / "train.tsv", "tsv"))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for split, name in (("dev", "dev_2k.tsv"), ("test", "test_2k.tsv")):
            if (sub / name).is_file():
                sources.append(Source(split, normalise_lang(sub.name), sub / name, "tsv"))
    return sources


def xnli_release_sources(folder: Path) -> list[Source]:
    """The original XNLI release: `XNLI-1.0/xnli.{dev,test}.{tsv,jsonl}` and MultiNLI's English train."""
    sources: list[Source] = []
    for sub in (folder, folder / "XNLI-1.0"):
        found = flat_sources(sub, prefixes=("xnli.",))
        # The release ships each split as both .tsv and .jsonl: one is enough.
        tsv_splits = {s.split for s in found if s.format == "tsv"}
        sources += [s for s in found if s.format == "tsv" or s.split not in tsv_splits]
    if not sources:
        return []
    for base in (folder, folder / "XNLI-MT-1.0" / "multinli", folder / "multinli", folder.parent / "XNLI-MT-1.0" / "multinli"):
        train = base / "multinli.train.en.tsv"
        if train.is_file():
            sources.append(Source("train", "en", train, "tsv"))
            break
    return sources


# ---------------------------------------------------------------------------------------------
# A folder's labelled data.


class LabelledData:
    """The splits found for one task: which languages exist, and their checked examples.

    Files are read once and kept (a file with a language column serves every language).
    `xharness.tasks.labelled_hub.HubLabelled` offers the same methods over a `datasets` data set.
    """

    def __init__(
        self, sources: Iterable[Source], schema: Schema, *, label_map: Callable[[str], str] | None = None, root: Path | None = None
    ) -> None:
        self.sources = list(sources)
        self.schema = schema
        self.label_map = label_map
        self.root = root  # file names in results are relative to it
        self._tables: dict[Path, Table] = {}
        self._langs: dict[Path, list[str] | None] = {}
        self._hashes: dict[Path, str] = {}

    def table(self, source: Source) -> Table:
        if source.path not in self._tables:
            self._tables[source.path] = read_table(source, self.schema)
        return self._tables[source.path]

    def column_languages(self, source: Source) -> list[str] | None:
        """The languages in a file's language column (None when it has none)."""
        if source.path not in self._langs:
            self._langs[source.path] = table_languages(self.table(source), self.schema)
        return self._langs[source.path]

    def _for_split(self, split: str) -> list[Source]:
        return [s for s in self.sources if s.split == split]

    def languages(self, split: str) -> list[str]:
        """Languages with data in `split` (train and dev files without a language column are English)."""
        found: dict[str, list[Source]] = {}
        for source in self._for_split(split):
            if source.lang is not None:
                langs = [source.lang]
            else:
                langs = self.column_languages(source)
                if langs is None:
                    if split == "test":
                        raise XharnessError(
                            f"{source.path}: a test file needs a language in its name (test-de.tsv) or a lang/language column"
                        )
                    langs = [TRAIN_LANGUAGE]
            for lang in langs:
                found.setdefault(lang, []).append(source)
        for lang, where in found.items():
            if len(where) > 1:
                names = " and ".join(str(s.path) for s in where)
                raise XharnessError(f"two sources for the {split} split of '{lang}': {names}; keep one")
        return sorted(found)

    def source(self, split: str, lang: str) -> Source | None:
        for source in self._for_split(split):
            if source.lang == lang:
                return source
            if source.lang is None:
                langs = self.column_languages(source)
                if (langs is None and split != "test" and lang == TRAIN_LANGUAGE) or (langs is not None and lang in langs):
                    return source
        return None

    def examples(self, split: str, lang: str, *, limit: int | None = None) -> Examples | None:
        """The checked examples of (split, lang), or None when that split has no such language.

        Files are read whole (`limit` is for sources that can stop early; the caller keeps the first items).
        """
        self.languages(split)  # reports two sources for one language before anything is read twice
        source = self.source(split, lang)
        if source is None:
            return None
        table = self.table(source)
        filter_lang = source.lang is None and self.column_languages(source) is not None
        return examples_from_table(
            table,
            self.schema,
            split=split,
            lang=lang,
            filter_lang=filter_lang,
            label_map=self.label_map,
            files=(source.path,),
        )

    def sha256(self, path: Path) -> str:
        if path not in self._hashes:
            self._hashes[path] = sha256_file(path)
        return self._hashes[path]

    def identity(self, part: Examples) -> list[tuple[str, str, str]]:
        """(name, sha256, name in the result) of each file `part` was read from: what its fingerprint hashes."""
        return [(path.name, self.sha256(path), shown_path(path, self.root)) for path in part.files]

    def provenance(self, part: Examples) -> dict[str, Any] | None:
        """Where a part's rows came from beyond its files (a data set's config and revision): nothing for files."""
        return None

    def missing_train(self) -> str | None:
        """Why there is no English training split, when the layout knows (files: the task says what it expected)."""
        return None


def shown_path(path: Path, root: Path | None) -> str:
    """A file as a result names it: relative to the data folder when it is inside."""
    try:
        return path.relative_to(root).as_posix() if root is not None else str(path)
    except ValueError:
        return str(path)


def check_labels(test: Examples, train_labels: Iterable[str]) -> None:
    """Every test label must occur in the English training split: the probe cannot predict it otherwise."""
    known = set(train_labels)
    for i, label in enumerate(test.labels):
        if label not in known:
            shown = ", ".join(sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
            where = test.where[i] if i < len(test.where) else f"item {i + 1}"
            raise XharnessError(
                f"{test.source}: {where} has label '{label}', which never occurs in "
                f"the English training split (its labels: {shown})"
            )


def find_sources(candidates: Sequence[tuple[Path, Callable[[Path], list[Source]]]]) -> tuple[Path, list[Source]] | None:
    """The first (folder, discovery) pair that finds any split, with what it found."""
    for folder, discover in candidates:
        sources = discover(folder)
        if sources:
            return folder, sources
    return None
