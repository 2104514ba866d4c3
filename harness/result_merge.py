"""A result file is the union of the runs that agree: what may be reused, added, or must be refused.

Two runs agree on a (model, task) result when they used the same model fingerprint, the same
task version and split, and the same number-changing options. A language already in the file
is reused when its data fingerprint is the same, and refused (unless --overwrite) when not.
Writers hold a lock on the result while they read, merge and write, so concurrent runs into one
folder end with every language of both.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from xharness.errors import XharnessError
from xharness.results import NewerSchemaError, TaskResult, load_items
from xharness.tasks.base import LanguageData, LanguageOutcome

_WHAT_TO_DO = "pass --name or -o to keep both, or --overwrite to replace it"


def read_existing(target: Path) -> TaskResult | None:
    """The result at `target` with its per-item outcomes, or None when there is none (or it is damaged)."""
    if not target.exists():
        return None
    try:
        existing = TaskResult.from_disk(target)
        existing.items = load_items(target)
    except NewerSchemaError as exc:
        # A newer xharness wrote it: replacing it with an older format would lose what it records.
        raise XharnessError(f"{exc}, or pass --overwrite to replace it") from None
    except XharnessError:
        return None  # damaged (truncated, edited): run again and replace it
    return existing


def disagreement(existing: TaskResult, *, model_fingerprint: str, task: Mapping[str, Any], config: Mapping[str, Any]) -> str | None:
    """Why a run cannot be merged into `existing` (None when it can)."""
    if existing.model.get("fingerprint") != model_fingerprint:
        return f"it holds another model's results ('{existing.model.get('name')}', spec {existing.model.get('spec')!r})"
    for key in ("version", "split"):
        if existing.task.get(key) != task.get(key):
            return f"it was written by task {key} {existing.task.get(key)!r}, this run is {task.get(key)!r}"
    if existing.layer_scores:
        return "it holds a layer sweep"
    theirs, ours = dict(existing.config), dict(config)
    differing = sorted(key for key in set(theirs) | set(ours) if theirs.get(key) != ours.get(key))
    if differing:
        shown = ", ".join(f"{key}={theirs.get(key)!r} there, {ours.get(key)!r} now" for key in differing)
        return f"it was run with other options ({shown})"
    return None


def refuse(target: Path, reason: str) -> XharnessError:
    return XharnessError(f"{target}: {reason}; {_WHAT_TO_DO}")


def reusable(existing: TaskResult, loaded: Mapping[str, LanguageData], *, target: Path) -> dict[str, LanguageOutcome]:
    """Languages of `existing` to keep as they are; a requested language whose data changed is refused."""
    files = existing.task.get("data_files") or {}
    kept: dict[str, LanguageOutcome] = {}
    for lang, score in existing.scores.items():
        recorded = (files.get(lang) or {}).get("sha256")
        if lang in loaded and recorded != loaded[lang].fingerprint:
            raise refuse(target, f"language '{lang}' was scored on other data (the files or --limit changed)")
        kept[lang] = LanguageOutcome(score=score, items=(existing.items or {}).get(lang, {}))
    return kept


def kept_data(existing: TaskResult, lang: str) -> LanguageData:
    """A stand-in for a language kept from `existing` that this run did not load."""
    entry = (existing.task.get("data_files") or {}).get(lang) or {}
    summary = {k: v for k, v in entry.items() if k not in ("files", "sha256")}
    return LanguageData(payload=None, fingerprint=str(entry.get("sha256", "")), files=tuple(entry.get("files", ())), summary=summary)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on a model's results folder for a read-merge-write (the folder itself, so no lock file is left)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
