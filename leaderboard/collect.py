"""Reading a results folder: every result file under it, each validated, in a stable order.

A result file is any `*.json` under the folder that is not a per-item sidecar (`*.items.json`);
hidden files and folders are ignored. A file that does not validate stops the run with its
name and the problem (or, with `skip_invalid`, is left out and reported back as skipped).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Iterable

from xharness.errors import XharnessError
from xharness.results import ITEMS_SUFFIX, TaskResult


@dataclass(frozen=True)
class ResultEntry:
    """One valid result file: where it is (relative to the results folder, POSIX style) and what it holds."""

    source: str
    path: Path
    result: TaskResult
    label: str = ""  # the model's name, with its folder when another folder holds the same name

    @property
    def display(self) -> str:
        return self.label or self.model

    @property
    def model(self) -> str:
        return self.result.model["name"]

    @property
    def task(self) -> str:
        return self.result.task["name"]


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


@dataclass
class Collection:
    root: Path
    entries: list[ResultEntry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _relative(path: Path, root: Path) -> str:
    try:
        return PurePosixPath(path.relative_to(root)).as_posix()
    except ValueError:
        return path.as_posix()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def find_result_files(root: Path, *, exclude: Iterable[Path] = ()) -> list[Path]:
    """Result files under `root` in sorted order (sidecars, hidden entries and `exclude` folders left out)."""
    root = Path(root)
    excluded = [Path(p) for p in exclude]
    found = []
    for path in root.rglob("*.json"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.name.endswith(ITEMS_SUFFIX) or not path.is_file():
            continue
        if any(_inside(path, folder) for folder in excluded):
            continue
        found.append(path)
    return sorted(found, key=lambda p: PurePosixPath(p.relative_to(root)).as_posix())


def _folder(source: str) -> str:
    parent = PurePosixPath(source).parent.as_posix()
    return parent if parent != "." else "."


def label_by_folder(entries: list[ResultEntry]) -> list[ResultEntry]:
    """Entries whose model name also occurs in another folder get `name [folder]` as their label."""
    folders: dict[str, set[str]] = {}
    for e in entries:
        folders.setdefault(e.model, set()).add(_folder(e.source))
    return [
        replace(e, label=f"{e.model} [{_folder(e.source)}]" if len(folders[e.model]) > 1 else e.model) for e in entries
    ]


def collect(root: Path, *, skip_invalid: bool = False, exclude: Iterable[Path] = (), by_folder: bool = False) -> Collection:
    """Read and validate every result file under `root`.

    Raises XharnessError for a missing folder, a folder without result files, an invalid file
    (unless `skip_invalid`), or two files holding the same model and task (ambiguous rows) unless
    `by_folder`, where such results are told apart by their folder (see `label_by_folder`).
    """
    root = Path(root)
    if not root.exists():
        raise XharnessError(f"{root}: results folder not found")
    if not root.is_dir():
        raise XharnessError(f"{root}: not a folder (give the folder that holds <model>/<task>.json files)")
    collection = Collection(root=root)
    seen: dict[tuple[str, str], str] = {}
    for path in find_result_files(root, exclude=exclude):
        source = _relative(path, root)
        try:
            result = TaskResult.from_disk(path)
        except XharnessError as exc:
            if not skip_invalid:
                raise XharnessError(f"invalid result file: {exc} (use --skip-invalid to leave such files out)") from None
            collection.skipped.append(Skipped(source=source, reason=str(exc)))
            continue
        entry = ResultEntry(source=source, path=path, result=result)
        key = (entry.model, entry.task)
        if key in seen and not by_folder:
            raise XharnessError(
                f"two results for model '{entry.model}' on task '{entry.task}': {seen[key]} and {source}; "
                "remove one, or give the runs different names (xharness eval --name)"
            )
        seen[key] = source
        collection.entries.append(entry)
    collection.entries = label_by_folder(collection.entries)
    if not collection.entries:
        if collection.skipped:
            raise XharnessError(f"{root}: no valid result files ({len(collection.skipped)} invalid ones skipped)")
        raise XharnessError(f"{root}: no result files found (expected <model>/<task>.json, as written by xharness eval)")
    return collection
