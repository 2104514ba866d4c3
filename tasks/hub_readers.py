"""The seam between a task and Hugging Face data sets: one `HubReader` per well-known schema.

A task lists the readers it has (`Task.hub_readers`). With `--data-dir hf:...` the base class opens
the reference (`xharness.hub_data`), picks the reader whose `names` hold the data set's name (or,
for a folder under another name, the first that `recognises` its schema) and asks it, instead of
the task's file code, which languages there are and for each language's `LanguageData`. A reader
returns exactly the payload the task's own file reader returns, so scoring never knows where the
rows came from; it records where they came from in `LanguageData.summary["hub"]`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

from xharness.errors import XharnessError
from xharness.hub_data import HubDataset

if TYPE_CHECKING:
    from xharness.tasks.base import LanguageData, Task


class HubReader(ABC):
    """How one published data set's configurations and columns map onto a task's languages and payload."""

    names: ClassVar[tuple[str, ...]]  # hub ids with this schema, e.g. ("mteb/tatoeba-bitext-mining",)
    schema_source: ClassVar[str]  # where the schema was read (the data set card / its `configs:` block)
    limitation: ClassVar[str | None] = None  # what this source cannot support, said in the result and by `xharness tasks`

    def __init__(self, hub: HubDataset, task: "Task") -> None:
        self.hub = hub
        self.task = task

    @classmethod
    def recognises(cls, hub: HubDataset) -> bool:
        """True when a data set under another name has this schema: by default, judged by its configurations."""
        try:
            configs = hub.configs()
        except XharnessError:
            return False
        return cls.recognises_configs(configs)

    @classmethod
    def recognises_configs(cls, configs: list[str]) -> bool:
        """True when these configuration names are this schema's (default: never; names only)."""
        return False

    @abstractmethod
    def languages(self) -> list[str]:
        """The task's language codes this data set holds."""

    @abstractmethod
    def load_language(self, lang: str) -> "LanguageData":
        """One language's data in the task's own payload shape, with the hub provenance in its summary."""


def choose_reader(task: "Task", hub: HubDataset) -> HubReader:
    """The task's reader for this data set: by name, then by schema; one line when there is none."""
    readers: Sequence[type[HubReader]] = task.hub_readers
    if not readers:
        raise XharnessError(f"task {task.name} cannot read hf: data sets yet; use --data-dir with a folder ({task.layout})")
    wanted = hub.name.lower()
    for reader in readers:
        if wanted in (name.lower() for name in reader.names):
            return reader(hub, task)
    hub.configs()  # a set that cannot be opened (not cached while offline, say) is refused as that, first
    for reader in readers:
        if reader.recognises(hub):
            return reader(hub, task)
    known = ", ".join(name for reader in readers for name in reader.names)
    raise XharnessError(f"{hub.ref.text}: task {task.name} does not know this data set's schema (it reads: {known})")


def texts_fingerprint(*columns: Iterable[str], extra: Any = None) -> str:
    """A fingerprint of the rows' content (the same sentences give the same value, whatever the source).

    Each column is hashed as the file of its newline-ended lines would be, so a column equal to a
    task file's lines gets the fingerprint that file gets (Tatoeba's: sha256 of the files' sha256s).
    """
    h = hashlib.sha256()
    for column in columns:
        inner = hashlib.sha256()
        for text in column:
            inner.update(text.encode("utf-8"))
            inner.update(b"\n")
        h.update(inner.digest())
    h.update(repr(extra).encode())
    return h.hexdigest()


def hub_files(hub: HubDataset, config: str | None, *splits: str) -> tuple[str, ...]:
    """How a result names the rows read: `hf:OWNER/NAME:CONFIG/SPLIT`."""
    stem = f"hf:{hub.ref.path}" + (f"@{hub.ref.revision}" if hub.ref.revision else "")
    return tuple(f"{stem}:{config}/{split}" if config not in (None, "default") else f"{stem}/{split}" for split in splits)
