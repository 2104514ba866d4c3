"""Data sets referenced as `hf:...` and read through Hugging Face `datasets`, wherever a data folder is accepted.

A reference is one of:

- `hf:OWNER/NAME`, `hf:OWNER/NAME@REVISION`, `hf:OWNER/NAME:CONFIG` (or both, `@REV:CONFIG`): a hub
  data set, read by `datasets.load_dataset`. Offline (`HF_DATASETS_OFFLINE=1` or `HF_HUB_OFFLINE=1`)
  it comes from the local cache (`HF_DATASETS_CACHE`, default `~/.cache/huggingface/datasets`);
  online and not in offline mode, `datasets` fetches it, exactly as for models.
- `hf:PATH` (or `hf:PATH:CONFIG`) where PATH is a local folder: either in hub layout (parquet/JSON/CSV files, with a
  README whose `configs:` block names the configurations) or written by `save_to_disk` (it holds
  `dataset_dict.json` or `state.json`; read with `load_from_disk`). A folder named like a hub
  data set (`.../mteb/tatoeba-bitext-mining`) is read with that data set's schema.

Which configuration holds which language is the task's business (its `hub_readers`, see
`xharness.tasks.hub_readers`); this module opens configurations and splits, turns every failure
into one `XharnessError` line, and says where the rows came from (`provenance`), so a result
records the data set, configuration, revision and fingerprint it was computed on.

Streaming (`datasets.load_dataset(..., streaming=True)`): a hub-layout folder is streamed by default
(its parquet/JSON files are read in batches where they lie; no Arrow copy is prepared), an online
hub set with `--stream` (never downloaded whole). save_to_disk folders and the offline cache are
memory-mapped Arrow already and stay map-style; `--no-stream` prepares a folder's Arrow copy. The
methods below answer the same for both (`xharness.hub_stream` reads the batches).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from xharness.errors import XharnessError
from xharness.hub_reference import HubReference, parse_reference
from xharness.hub_stream import Tally, batches, files_stamp, first_row_columns, hub_commit, is_streamed
from xharness.suggest import did_you_mean

_TRUE = {"1", "ON", "YES", "TRUE"}
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


def offline() -> bool:
    """True when the user asked Hugging Face libraries to stay off the network."""
    return any(os.environ.get(var, "").strip().upper() in _TRUE for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


def _datasets():
    try:
        import datasets
    except ImportError:
        raise XharnessError("reading hf: data needs the `datasets` package (pip install datasets)") from None
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    # A folder whose README has no metadata block is fine to read; the hub library's warning would be a stray stderr line.
    logging.getLogger("huggingface_hub.repocard").setLevel(logging.ERROR)
    return datasets


def _cache_root() -> Path:
    return Path(_datasets().config.HF_DATASETS_CACHE)


def _cache_folder(hub_id: str) -> Path:
    """Where `datasets` keeps a prepared hub data set: `<cache>/<owner>___<name>` (name in snake case)."""
    owner, name = hub_id.split("/", 1)
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return _cache_root() / f"{owner}___{snake}"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@dataclass
class HubDataset:
    """One referenced data set, opened lazily: its configurations, splits and rows."""

    ref: HubReference
    kind: str = ""  # "save_to_disk", "folder" (hub layout) or "hub"
    stream: bool | None = None  # None: the default, streamed for a hub-layout folder only (`--stream`/`--no-stream`)
    batch_size: int = 10_000  # rows per batch handed to a reader
    _loaded: dict[str | None, Any] = field(default_factory=dict, repr=False)  # config -> its splits
    _disk: Any = field(default=None, repr=False)
    _tallies: dict[tuple[str | None, str], Tally] = field(default_factory=dict, repr=False)
    _commit: Any = field(default=False, repr=False)  # a streamed hub set's commit, once asked (False: not yet)

    def __post_init__(self) -> None:
        if self.ref.local:
            folder = Path(self.ref.path).expanduser()
            saved = (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()
            self.kind = "save_to_disk" if saved else "folder"
        else:
            self.kind = "hub"

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def streaming(self) -> bool:
        """Whether splits are read as `IterableDataset`s. Offline, a hub set is its prepared (memory-mapped) cache."""
        if self.kind == "save_to_disk" or (self.kind == "hub" and offline()):
            return False
        return self.kind == "folder" if self.stream is None else self.stream

    def set_stream(self, stream: bool | None) -> None:
        """Choose map-style (False), streamed (True) or the default (None); what was opened is opened again."""
        if stream != self.stream:
            self.stream = stream
            self._loaded.clear()
            self._tallies.clear()

    # -- what the data set holds ---------------------------------------------------------------

    def configs(self) -> list[str]:
        """The configuration names (one, 'default', for a save_to_disk folder); a `:CONFIG` reference narrows to it."""
        if self.ref.config is not None:
            # A hub-layout folder's configurations are all in its README: one it lacks is said here, not later as
            # "no data for the task". (A hub set's may be on the hub but not in the cache: loading it says which; a
            # save_to_disk folder holds one, and `:CONFIG` says which one it is.)
            known = self._known_configs_quietly() if self.kind == "folder" else []
            if known and self.ref.config not in known:
                raise XharnessError(
                    f"{self.ref.text}: no configuration {self.ref.config!r}{did_you_mean(self.ref.config, known)} "
                    f"(configurations: {shorten(known)})"
                )
            return [self.ref.config]
        return self._all_configs()

    def _all_configs(self) -> list[str]:
        if self.kind == "save_to_disk":
            return ["default"]
        if self.kind == "hub" and offline():
            # Offline, `datasets` cannot list a hub set's configurations; the cache holds the prepared ones.
            folder = _cache_folder(self.ref.path)
            found = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
            if not found:
                raise self._not_cached(None)
            return found
        datasets = _datasets()
        try:
            return list(datasets.get_dataset_config_names(self.ref.path, revision=self.ref.revision))
        except Exception as error:  # noqa: BLE001 - any failure of the library is one line for the user
            raise XharnessError(f"{self.ref.text}: cannot list its configurations ({_one_line(error)})") from None

    def splits(self, config: str | None) -> list[str]:
        return list(self._open(config).keys())

    def split(self, config: str | None, split: str):
        """One split of one configuration: a `datasets.Dataset` (memory-mapped Arrow), or streamed an `IterableDataset`."""
        parts = self._open(config)
        if split not in parts:
            raise XharnessError(
                f"{self.label(config)}: no split {split!r} "
                f"(splits: {', '.join(parts) or 'none'})"
            )
        return parts[split]

    def columns(self, config: str | None, split: str) -> list[str]:
        data = self.split(config, split)
        return list(data.column_names) if data.column_names is not None else first_row_columns(data)

    def require_columns(self, config: str | None, split: str, needed: tuple[str, ...]) -> None:
        """Refuse, in one line, a split that lacks a column the task's schema reads."""
        have = self.columns(config, split)
        missing = [name for name in needed if name not in have]
        if missing:
            raise XharnessError(
                f"{self.label(config)} split {split!r}: no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(have) or 'none'}); this is not the schema the task reads"
            )

    def rows(
        self, config: str | None, split: str, columns: tuple[str, ...], *, limit: int | None = None, batch_size: int | None = None,
    ) -> Iterator[dict[str, list]]:
        """The split's columns in batches, the first `limit` rows when given (a large or streamed set is never copied whole).

        Streamed, a reader that stops taking batches stops the reading: the rest is never pulled.
        """
        data = self.split(config, split)
        tally = self._tallies.setdefault((config, split), Tally()) if is_streamed(data) else None
        where = f"{self.label(config)} split {split!r}"
        pulled = 0
        for batch in batches(
            data, list(columns), batch_size=batch_size or self.batch_size, limit=limit, tally=tally,
            failed=lambda error: XharnessError(f"{where}: cannot read ({_one_line(error)})"),
        ):
            pulled += len(next(iter(batch.values()), ()))
            yield batch
        if not pulled and limit != 0:  # streamed, an empty split shows only now (map-style, `datasets` refuses it on load)
            raise XharnessError(f"{self.label(config)}: split {split!r} holds no rows")

    def column(self, config: str | None, split: str, name: str, *, limit: int | None = None) -> list:
        """One column as a list (the first `limit` rows when given)."""
        return [value for batch in self.rows(config, split, (name,), limit=limit) for value in batch[name]]

    def feature_names(self, config: str | None, split: str, column: str) -> list[str] | None:
        """The class names of a `ClassLabel` column (None for any other feature, or a stream of unknown features)."""
        feature = (self.split(config, split).features or {}).get(column)
        names = getattr(feature, "names", None)
        return list(names) if isinstance(names, list) else None

    def provenance(self, config: str | None, split: str) -> dict[str, Any]:
        """Where one split's rows came from: recorded in the result beside the data fingerprint."""
        data = self.split(config, split)
        if is_streamed(data):
            return self._stream_provenance(config, split)
        return {
            **self._where(config, split),
            "revision": _revision_of(data) or self.ref.revision,  # the commit read, where the cache says it
            "fingerprint": data._fingerprint,
            "rows": data.num_rows,
        }

    def label(self, config: str | None) -> str:
        """How messages name a configuration of this data set (a save_to_disk folder's one, 'default', goes unnamed)."""
        return self.ref.text + ("" if config in (None, "default") else f" config {config!r}")

    def _where(self, config: str | None, split: str) -> dict[str, Any]:
        return {"dataset": self.name, "reference": self.ref.text, "source": self.kind, "config": config, "split": split}

    def _stream_provenance(self, config: str | None, split: str) -> dict[str, Any]:
        """A stream has no `_fingerprint` and no row count: the files (folder) or commit (hub) read, and the rows pulled."""
        tally = self._tallies.get((config, split), Tally())
        if self.kind == "folder":
            fingerprint = files_stamp(Path(self.ref.path).expanduser(), with_path=False)
            what, revision = "the folder's files: relative names, sizes and modification times", self.ref.revision
        else:
            if self._commit is False:
                self._commit = hub_commit(self.ref.path, self.ref.revision)
            fingerprint = revision = self._commit or self.ref.revision
            what = "the hub commit read"
        return {
            **self._where(config, split),
            "revision": revision,
            "fingerprint": fingerprint,
            "fingerprint_of": what,
            "rows": tally.rows if tally.complete else None,  # unknown unless a pass read to the end
            "rows_read": tally.rows,
            "streamed": True,
        }

    # -- opening -------------------------------------------------------------------------------

    def _open(self, config: str | None) -> Any:
        if config is not None and self.ref.config is not None and config != self.ref.config:
            raise XharnessError(f"{self.ref.text}: the reference names config {self.ref.config!r}, not {config!r}")
        if config in self._loaded:
            return self._loaded[config]
        datasets = _datasets()
        if self.kind == "save_to_disk":
            if self._disk is None:
                try:
                    self._disk = datasets.load_from_disk(str(Path(self.ref.path).expanduser()))
                except Exception as error:  # noqa: BLE001
                    raise XharnessError(f"{self.ref.text}: not a readable save_to_disk folder ({_one_line(error)})") from None
            opened = self._disk if isinstance(self._disk, datasets.DatasetDict) else {"train": self._disk}
        else:
            opened = self._load(datasets, config)
        self._loaded[config] = opened
        return opened

    def _load(self, datasets, config: str | None) -> Any:
        path = str(Path(self.ref.path).expanduser()) if self.kind == "folder" else self.ref.path
        if config is not None and self.kind == "hub" and offline():
            cached = _cache_folder(self.ref.path) / config
            if not cached.is_dir():
                raise self._not_cached(config)
            self._check_cached_revision(cached)
        # `datasets` keys a local folder's prepared copy by the folder's name and config only, so a second
        # folder of the same name (or this one edited) would be served the first one's rows: key it ourselves.
        streaming = self.streaming
        cache_dir = _folder_cache(Path(path)) if self.kind == "folder" and not streaming else None
        try:
            opened = datasets.load_dataset(path, config, revision=self.ref.revision, cache_dir=cache_dir, streaming=streaming)
            self._check_read_revision(opened)
            return opened
        except XharnessError:
            raise
        except ValueError as error:
            text = _one_line(error)
            empty = re.search(r'Instruction "([^"]+)" corresponds to no data', text)
            if empty:  # `datasets` refuses a whole configuration that has an empty split
                raise XharnessError(
                    f"{self.label(config)}: split {empty.group(1)!r} holds no rows"
                ) from None
            if "config" in text.lower() or "BuilderConfig" in text:
                known = self._known_configs_quietly()
                raise XharnessError(
                    f"{self.ref.text}: no configuration {config!r}{did_you_mean(config or '', known)}"
                    + (f" (configurations: {shorten(known)})" if known else "")
                ) from None
            raise XharnessError(f"{self.ref.text}: {text}") from None
        except ConnectionError:
            raise self._not_cached(config) from None
        except Exception as error:  # noqa: BLE001 - the library's many error types end here as one line
            raise XharnessError(f"{self.ref.text}: cannot load{' config ' + repr(config) if config else ''} ({_one_line(error)})") from None

    def _check_cached_revision(self, cached: Path) -> None:
        """Offline, `datasets` reads whatever commit it cached: a pinned commit must be the one there."""
        revision = self.ref.revision
        if revision is None or not _COMMIT.match(revision):
            return  # a branch or tag name cannot be checked offline; the recorded commit says what was read
        commits = sorted({p.name for p in cached.glob("*/*") if p.is_dir() and _COMMIT.match(p.name)})
        if commits and not any(commit.startswith(revision.lower()) for commit in commits):
            raise XharnessError(
                f"{self.ref.text}: revision {revision} is not in the cache (cached: {', '.join(c[:12] for c in commits)}) "
                "and offline mode is on"
            )

    def _check_read_revision(self, opened: Any) -> None:
        """A pinned commit that the cache did not give (it keeps several, and reads the newest) is refused."""
        revision = self.ref.revision
        if revision is None or not _COMMIT.match(revision):
            return
        for part in opened.values():
            read = _revision_of(part)
            if read is not None and not read.startswith(revision.lower()):
                raise XharnessError(f"{self.ref.text}: the cache gave commit {read[:12]}, not the pinned {revision}")

    def _known_configs_quietly(self) -> list[str]:
        try:
            return self._all_configs()
        except XharnessError:
            return []

    def _not_cached(self, config: str | None) -> XharnessError:
        looked = _cache_folder(self.ref.path) / (config or "")
        return XharnessError(
            f"{self.ref.text}: {'config ' + repr(config) + ' ' if config else ''}not in the Hugging Face datasets cache "
            f"(looked in {looked}) and offline mode is on; load it once online, or point hf: at a local folder"
        )


def _folder_cache(folder: Path) -> str:
    """A cache folder of its own for a hub-layout folder read map-style: by its resolved path and its files' sizes and times."""
    return str(_cache_root() / "xharness-folders" / files_stamp(folder, with_path=True)[:16])


def _revision_of(data: Any) -> str | None:
    """The hub commit a cached split was prepared from, when `datasets` recorded one."""
    for cache in getattr(data, "cache_files", None) or []:
        match = re.search(r"/([0-9a-f]{40})/", cache.get("filename", ""))
        if match:
            return match.group(1)
    return None


def shorten(names: list[str], most: int = 12) -> str:
    """At most `most` names, then how many there are in all (for one-line messages)."""
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


def open_reference(value: str, *, stream: bool | None = None) -> HubDataset:
    """Parse and open `hf:...` (nothing is read until a configuration is asked for)."""
    return HubDataset(parse_reference(value), stream=stream)
