"""Reading `hf:` data sets in batches, map-style or streamed, and what identifies a streamed source.

`xharness.hub_data.HubDataset` opens a split either as a `datasets.Dataset` (memory-mapped Arrow) or,
streamed, as an `IterableDataset`, which has no row count, no `_fingerprint` and no random access.
Everything a reader does goes through `batches` (the first `limit` rows, or all), which counts the
rows it pulled (`Tally`), so a streamed split's provenance can say how many rows were read and
whether the end was reached; `files_stamp` and `hub_commit` say which files or commit were read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from xharness.errors import XharnessError
from xharness.hashing import sha256_bytes


@dataclass
class Tally:
    """Rows pulled from one streamed split: the most any one pass read, and whether a pass reached the end."""

    rows: int = 0
    complete: bool = False
    passes: list[int] = field(default_factory=list)  # rows pulled by each pass, in order (tests read it)

    def record(self, pulled: int, *, finished: bool) -> None:
        self.passes.append(pulled)
        self.rows = max(self.rows, pulled)
        self.complete = self.complete or finished


def is_streamed(data: Any) -> bool:
    return not hasattr(data, "num_rows")  # `IterableDataset` has none; `Dataset` always has one


def batches(
    data: Any,
    columns: list[str],
    *,
    batch_size: int,
    limit: int | None = None,
    tally: Tally | None = None,
    failed: Callable[[BaseException], XharnessError],
) -> Iterator[dict[str, list]]:
    """The columns of `data` in batches of at most `batch_size` rows, stopping after `limit` rows.

    A streamed split is pulled lazily, so stopping early means the rest is never read from disk or
    the network; a failure while pulling (a broken file, a lost connection) becomes `failed(error)`.
    """
    if not is_streamed(data):
        if limit is not None:
            data = data.select(range(min(limit, data.num_rows)))
        yield from data.select_columns(columns).iter(batch_size=batch_size)
        return
    pulled, finished = 0, False
    source = iter(data.select_columns(columns).iter(batch_size=batch_size))
    try:
        while limit is None or pulled < limit:
            try:
                batch = next(source)
            except StopIteration:
                finished = True
                break
            except XharnessError:
                raise
            except Exception as error:  # noqa: BLE001 - the library's many error types end here as one line
                raise failed(error) from None
            size = len(next(iter(batch.values()))) if batch else 0
            if limit is not None and pulled + size > limit:
                batch = {name: values[: limit - pulled] for name, values in batch.items()}
                size = limit - pulled
            pulled += size
            yield batch
    finally:  # also when the reader stops taking batches (it needed only the first rows)
        if tally is not None:
            tally.record(pulled, finished=finished)


def first_row_columns(data: Any) -> list[str]:
    """A streamed split's column names when its features are unknown (JSON without a schema): the first row's."""
    for row in data.take(1):
        return list(row)
    return []


def files_stamp(folder: Path, *, with_path: bool) -> str:
    """sha256 of a folder's files' relative names, sizes and modification times (and its path, when asked)."""
    folder = folder.resolve()
    stamp = [str(folder)] if with_path else []
    files = []
    for top, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git, .cache: not the data
        files += [Path(top) / name for name in names if not name.startswith(".")]
    for path in sorted(files):
        info = path.stat()
        stamp.append(f"{path.relative_to(folder)}\0{info.st_size}\0{info.st_mtime_ns}")
    return sha256_bytes("\n".join(stamp).encode("utf-8"))


def hub_commit(hub_id: str, revision: str | None) -> str | None:
    """The commit a streamed hub set's revision (default: main) names now; None where the hub cannot say."""
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(hub_id, revision=revision).sha
    except Exception:  # noqa: BLE001 - provenance is best effort; the reading itself reports its own failures
        return None
