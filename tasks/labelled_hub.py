"""Labelled splits read through Hugging Face `datasets`: the data set counterpart of `LabelledData`.

`HubLabelled` answers what `LabelledData` answers for files (which languages a split has, one
split of one language as checked `Examples`, what the rows' fingerprint hashes), for a data set
opened by `xharness.hub_data` (`hf:OWNER/NAME`, `hf:FOLDER`, or a plain `--data-dir` that is a
`save_to_disk` folder). Where the languages are is a `HubLayout`:

- one configuration per language (`en`, `de`, ...; or with a prefix, XTREME's `PAWS-X.de`), each
  with splits `train`, `validation` (or `dev`/`valid`) and `test`; or
- one configuration (the only one, `default`, the one a `:CONFIG` reference names, or the
  layout's own, XTREME's `XNLI`) whose splits carry a language column, or are named per language
  (`test_de`, `validation_en`); a train or dev split without either is English.

Columns are found by the task's accepted names (`text`, `sentence1`/`premise`, `label`/`gold_label`,
`lang`/`language`) or the ones the user named (`--text-column` ...). A `ClassLabel` label becomes
its class name, so ids compare equal to the label strings of the file layouts; -1, `datasets`'
"no label", is skipped and counted like a row with an empty text. Rows are read in batches of
the needed columns only, and with `--limit` reading stops after the first N kept items.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from xharness.errors import XharnessError
from xharness.hashing import sha256_file
from xharness.hub_data import HubDataset
from xharness.hub_reference import HubReference
from xharness.tasks.hub_readers import hub_files, texts_fingerprint
from xharness.tasks.labelled_data import (
    HF_SPLIT, SPLIT_ALIASES, TRAIN_LANGUAGE, Examples, examples_from_table, flat_sources, is_save_to_disk, normalise_lang, shown_path,
)
from xharness.tasks.labelled_readers import Schema, Source, Table
from xharness.tasks.languages import to_short
from xharness.tasks.options import TaskOption

# The columns, named when they are not the accepted names. They choose which rows are read, which the
# data fingerprint and the recorded columns already say: they change no number.
COLUMN_OPTIONS = (
    TaskOption(
        "text_column", str, None, "the text column's name (pairs: two, comma-separated; data sets and files with a header)",
        changes_numbers=False,
    ),
    TaskOption("label_column", str, None, "the label column's name", changes_numbers=False),
    TaskOption("lang_column", str, None, "the language column's name (rows of every language in one split)", changes_numbers=False),
)


def generic_sources(folder: Path) -> list[Source]:
    """The generic layout's files in `folder`, or the folder itself when `save_to_disk` wrote it (read by `datasets`)."""
    if folder.is_dir() and is_save_to_disk(folder):
        return [Source("*", None, folder, "save_to_disk")]
    return flat_sources(folder)



def config_language(name: str) -> str | None:
    """The result code of a configuration named by a language (`de`, `deu`, `en`), else None (`default`)."""
    code = name.strip().lower()
    return TRAIN_LANGUAGE if code in ("en", "eng") else to_short(code)


@dataclass(frozen=True)
class HubLayout:
    """Which configurations hold which languages, for one published schema (the generic rule by default)."""

    config_prefix: str = ""  # per-language configs are `{prefix}{lang}` (XTREME: `PAWS-X.`)
    config: str | None = None  # the one configuration holding every language (XTREME: `XNLI`)
    refused_configs: Mapping[str, str] = field(default_factory=dict)  # config -> why it is not read
    train_note: str | None = None  # said when the English training split is missing


@dataclass(frozen=True)
class HubSplit:
    """Where one of our splits is: a configuration's split; `lang` None = its rows carry a language column."""

    split: str  # train, dev, test
    lang: str | None
    config: str | None
    name: str  # the data set's split name


@dataclass
class _Read:
    where: HubSplit
    digest: str
    columns: dict[str, str]


class HubLabelled:
    """A data set's labelled splits per language (the methods of `LabelledData`)."""

    def __init__(
        self,
        hub: HubDataset,
        schema: Schema,
        *,
        layout: HubLayout = HubLayout(),
        label_map: Callable[[str], str] | None = None,
        lang_column: str | None = None,
        root: Path | None = None,
    ) -> None:
        self.hub = hub
        self.schema = schema  # with the user's column names, when given (Schema.naming)
        self.layout = layout
        self.label_map = label_map
        self.lang_column = lang_column  # --lang-column: the languages are in that column, even with per-language configs
        self.root = root  # a plain --data-dir save_to_disk folder: name and hash its Arrow files, as for files
        self._per_config: dict[str, str] | None = None  # config -> language
        self._single: list[HubSplit] | None = None
        self._column_langs: dict[tuple[str | None, str], list[str]] = {}
        self._read: dict[tuple[str, str], _Read] = {}

    @classmethod
    def save_to_disk(cls, folder: Path, schema: Schema, *, root: Path, **options: Any) -> "HubLabelled":
        """A plain --data-dir (or its subfolder) written by `save_to_disk`: its Arrow files named and hashed as files."""
        return cls(HubDataset(HubReference(text=str(folder), path=str(folder))), schema, root=root, **options)

    # -- where the languages are ---------------------------------------------------------

    def _plan(self) -> None:
        """Per-language configurations, or the one configuration's splits (decided once)."""
        if self._per_config is not None or self._single is not None:
            return
        layout, ref = self.layout, self.hub.ref
        if ref.config is not None and ref.config in layout.refused_configs:
            raise XharnessError(f"{ref.text}: {layout.refused_configs[ref.config]}")
        configs = self.hub.configs()
        if layout.config is None:
            by_config = {}
            for config in configs:
                if config.startswith(layout.config_prefix) and config not in layout.refused_configs:
                    code = config_language(config[len(layout.config_prefix):])
                    if code is not None:
                        by_config[config] = code
            if by_config and self.lang_column is None:
                self._per_config = by_config
                return
        single = layout.config or ref.config or ("default" if "default" in configs else configs[0] if len(configs) == 1 else None)
        if single is None or (layout.config is not None and single not in configs):
            wanted = f"no config {layout.config!r}" if layout.config else "no configuration per language and no single one: name it, hf:NAME:CONFIG"
            raise XharnessError(f"{ref.text}: {wanted} (configurations: {', '.join(configs[:12]) or 'none'})")
        self._single = [self._split_of(single, name) for name in self.hub.splits(single) if HF_SPLIT.match(name)]

    def _split_of(self, config: str | None, name: str) -> HubSplit:
        match = HF_SPLIT.match(name)
        lang = normalise_lang(match["lang"]) if match["lang"] else None
        split = SPLIT_ALIASES[match["split"]]
        if lang is None and self._lang_column(config, name) is None:
            if split == "test":
                raise XharnessError(
                    f"{self._where(config, name)}: a test split needs a language: one configuration per language, "
                    "a split per language (test_de), or a language column (lang, language"
                    + ", or --lang-column)"
                )
            lang = TRAIN_LANGUAGE
        return HubSplit(split, lang, config, name)

    def languages(self, split: str) -> list[str]:
        """Languages with data in `split` (each per-language configuration that has that split)."""
        self._plan()
        if self._per_config is not None:
            return sorted({code for config, code in self._per_config.items() if self._has(config, split)})
        found: set[str] = set()
        for where in self._candidates(split):
            found.update([where.lang] if where.lang is not None else self._languages_in(where))
        return sorted(found)

    def _has(self, config: str, split: str) -> bool:
        return any(SPLIT_ALIASES.get(name) == split for name in self.hub.splits(config))

    def _candidates(self, split: str) -> list[HubSplit]:
        return [where for where in self._single or [] if where.split == split]

    def _languages_in(self, where: HubSplit) -> list[str]:
        key = (where.config, where.name)
        if key not in self._column_langs:
            column = self._lang_column(where.config, where.name)
            found: set[str] = set()
            for batch in self.hub.rows(where.config, where.name, (column,)):
                found.update(normalise_lang(v) for v in batch[column] if v is not None and str(v).strip())
            self._column_langs[key] = sorted(found)
        return self._column_langs[key]

    def locate(self, split: str, lang: str) -> HubSplit | None:
        """The data set's split holding (split, lang); None when there is none; refused when two do."""
        self._plan()
        if self._per_config is not None:
            configs = [config for config, code in self._per_config.items() if code == lang]
            if not configs:
                return None
            names = self.hub.splits(configs[0])
            found = [HubSplit(split, lang, configs[0], name) for name in names if SPLIT_ALIASES.get(name) == split]
        else:
            found = [w for w in self._candidates(split) if w.lang == lang or (w.lang is None and lang in self._languages_in(w))]
        if len(found) > 1:
            shown = " and ".join(self._where(w.config, w.name) for w in found)
            raise XharnessError(f"two sources for the {split} split of '{lang}': {shown}; keep one")
        return found[0] if found else None

    # -- reading -------------------------------------------------------------------------

    def examples(self, split: str, lang: str, *, limit: int | None = None) -> Examples | None:
        """The checked examples of (split, lang) (the first `limit` kept items when given), or None."""
        where = self.locate(split, lang)
        if where is None:
            return None
        columns = self._columns(where)
        names = self.hub.feature_names(where.config, where.name, columns["label"])
        lang_column = self._lang_column(where.config, where.name) if where.lang is None else None
        wanted = tuple(dict.fromkeys([*columns.values(), *([lang_column] if lang_column else [])]))
        table: dict[str, list[Any]] = {canonical: [] for canonical in columns}
        rows: list[str] = []
        missing = kept = 0
        number = 0
        for batch in self.hub.rows(where.config, where.name, wanted):
            for i in range(len(batch[columns["label"]])):
                number += 1
                if lang_column is not None and normalise_lang(batch[lang_column][i]) != lang:
                    continue
                if names is not None and batch[columns["label"]][i] == -1:
                    missing += 1  # `datasets`' "no label" (PAWS-X's card: missing labels were replaced with -1)
                    continue
                for canonical, column in columns.items():
                    table[canonical].append(batch[column][i])
                rows.append(f"row {number}")
                texts = [table[f][-1] for f in self.schema.fields]
                kept += all(isinstance(t, str) and t.strip() for t in texts)
                if limit is not None and kept >= limit:
                    break
            if limit is not None and kept >= limit:
                break
        source = self._where(where.config, where.name) + (f" (language '{lang}')" if lang_column else "")
        canonical_schema = Schema(self.schema.fields, tuple((f,) for f in self.schema.fields))
        read = examples_from_table(
            Table(table, rows, source, {"label": names} if names else {}),
            canonical_schema, split=split, lang=lang, filter_lang=False, label_map=self.label_map,
        )
        read = dataclasses.replace(read.head(limit), skipped=read.skipped + missing)
        self._read[(split, lang)] = _Read(where, texts_fingerprint(*read.texts, read.labels), columns)
        return read

    def _columns(self, where: HubSplit) -> dict[str, str]:
        """Our field name -> the split's column, by the accepted names (or the user's)."""
        have = self.hub.columns(where.config, where.name)
        lowered = {name.strip().lower(): name for name in have}
        out = {}
        for canonical, accepted, what, flag in (
            *((f, names, f"'{f}'", "--text-column") for f, names in zip(self.schema.fields, self.schema.names)),
            ("label", self.schema.labels, "label", "--label-column"),
        ):
            column = next((lowered[name] for name in accepted if name in lowered), None)
            if column is None:
                raise XharnessError(
                    f"{self._where(where.config, where.name)}: no {what} column (accepted names: {', '.join(accepted)}; "
                    f"columns: {', '.join(have) or 'none'}); name it with {flag}"
                )
            out[canonical] = column
        return out

    def _lang_column(self, config: str | None, name: str) -> str | None:
        lowered = {column.strip().lower(): column for column in self.hub.columns(config, name)}
        return next((lowered[n] for n in self.schema.langs if n in lowered), None)

    def _where(self, config: str | None, name: str) -> str:
        if self.root is not None:
            return str(Path(self.hub.ref.path) / name)
        return f"{self.hub.label(config)} split {name!r}"

    # -- what results record -------------------------------------------------------------

    def identity(self, part: Examples) -> list[tuple[str, str, str]]:
        """(name, sha256, name in the result) of what `part` was read from.

        A plain save_to_disk folder: its Arrow files, hashed as the file layouts' files are. A data set
        reference: the rows' content (the same rows from the cache, a hub-layout folder or save_to_disk
        give the same value).
        """
        read = self._read[(part.split, part.lang)]
        where = read.where
        if self.root is not None:
            files = [Path(entry["filename"]) for entry in self.hub.split(where.config, where.name).cache_files]
            return [(path.name, sha256_file(path), shown_path(path, self.root)) for path in files]
        shown = hub_files(self.hub, where.config, where.name)[0]
        return [(shown, read.digest, shown)]

    def provenance(self, part: Examples) -> dict[str, Any]:
        """The core's provenance of the split read (config, split, revision, fingerprint) and the columns used."""
        read = self._read[(part.split, part.lang)]
        return {**self.hub.provenance(read.where.config, read.where.name), "columns": dict(read.columns)}

    def missing_train(self) -> str | None:
        # Never the file layout's names (train-en.tsv): the reference is a data set.
        narrowed = f"; {self.hub.ref.text} names config {self.hub.ref.config!r} only" if self.hub.ref.config else ""
        return self.layout.train_note or (
            "expected a train split in an English configuration (en), a train_en split, or a train split with a "
            f"language column{narrowed}"
        )


# ---------------------------------------------------------------------------------------------
# What a classification result records of its data, from files or a data set alike.

def language_identity(data: Any, parts: tuple[Examples | None, ...], *, limit: int | None) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """One language's data fingerprint (its English train, dev and its test, with --limit), names, and provenance per split."""
    h = hashlib.sha256()
    names: list[str] = []
    provenance: dict[str, Any] = {}
    for part in parts:
        if part is None:
            continue
        for name, digest, shown in data.identity(part):
            h.update(f"{part.split}:{name}\0".encode() + bytes.fromhex(digest))
            names.append(shown)
        where = data.provenance(part)
        if where is not None:
            provenance[part.split] = where
    h.update(str(limit).encode())
    return h.hexdigest(), tuple(dict.fromkeys(names)), provenance


def english_protocol(data: Any, train: Examples, dev: Examples | None) -> dict[str, Any]:
    """The English splits a probe or fine-tuning was trained and selected on, for the result's protocol."""
    return {
        "train": {
            "files": [shown for _, _, shown in data.identity(train)],
            "n_available": len(train),
            "labels": dict(sorted(Counter(train.labels).items())),
            "skipped_empty_rows": train.skipped,
        },
        "dev": None if dev is None else {"files": [shown for _, _, shown in data.identity(dev)], "n": len(dev)},
    }
