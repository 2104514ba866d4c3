"""Data-parallel encoding under a launcher (torchrun, accelerate launch): who this process is, and the collectives.

A launcher starts one process per device and tells each its place through the environment
(RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Every rank runs the same code path,
so collective calls line up; only encoding is split (`shard`), and the vectors are gathered
back to every rank (`gather_rows`). Retrieval tasks search and score on rank 0 only, after
making every embed call (`Task.scoring`). Side effects (result files, partials, cache shards,
standard output) belong to rank 0 (`is_main`). Without a launcher, or with WORLD_SIZE=1, this
is one process and nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from xharness.errors import XharnessError

__all__ = ["World", "world", "is_main", "shard", "gather_rows", "agree_missing", "broadcast", "decided_by_main", "total", "device_for"]


@dataclass(frozen=True)
class World:
    """This process's place among the launched ones: rank (global), size, local_rank (device on its node)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


_WORLD: World | None = None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise XharnessError(f"{name}={value!r} in the environment is not a whole number (set by a launcher such as torchrun)") from None


def world() -> World:
    """The world as the launcher's environment describes it; one process when there is no launcher.

    Example:
        >>> import os
        >>> "WORLD_SIZE" in os.environ or world() == World(rank=0, size=1, local_rank=0)
        True
    """
    global _WORLD
    if _WORLD is None:
        size = _env_int("WORLD_SIZE", 1)
        rank = _env_int("RANK", 0)
        local = _env_int("LOCAL_RANK", rank)
        if size < 1 or not 0 <= rank < size or local < 0:
            raise XharnessError(f"launcher environment out of range: RANK={rank}, WORLD_SIZE={size}, LOCAL_RANK={local}")
        _WORLD = World(rank=rank, size=size, local_rank=local)
    return _WORLD


def is_main() -> bool:
    """Whether this process writes results, partials and cache shards, and prints (rank 0, or no launcher)."""
    return world().is_main


def device_for(device: str | None, w: World | None = None) -> str | None:
    """Each rank's device: cuda:LOCAL_RANK where CUDA would be used, anything else as asked.

    One process keeps the user's choice untouched (None still means "CUDA when available").
    """
    w = w or world()
    if not w.distributed or device not in (None, "auto", "cuda"):
        return device
    import torch

    if torch.cuda.is_available():
        _check_gpu_count(torch, w)
        return f"cuda:{w.local_rank}"
    return device


def _check_gpu_count(torch, w: World) -> None:
    count = torch.cuda.device_count()
    if w.local_rank >= count:
        raise XharnessError(f"LOCAL_RANK={w.local_rank} but this node has {count} visible GPU(s); start at most {count} processes per node")


def _dist():
    """torch.distributed with the process group started (once): NCCL where there is CUDA, else gloo."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        w = world()
        if torch.cuda.is_available() and dist.is_nccl_available():
            _check_gpu_count(torch, w)
            torch.cuda.set_device(w.local_rank)  # NCCL's object collectives go through the current device
            backend = "nccl"
        else:
            backend = "gloo"
        dist.init_process_group(backend=backend)
        import atexit

        atexit.register(_close)
    return dist


def _close() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def shard(lengths: Sequence[int], size: int) -> list[np.ndarray]:
    """Which items each of `size` ranks encodes: longest first, dealt snake-wise (0,1,..,1,0,0,1..).

    Each share is itself longest first (little padding per batch) and the shares' total lengths
    differ by at most about one item's length, so ranks finish together.

    Example:
        >>> [s.tolist() for s in shard([5, 1, 9, 3, 7], 2)]
        [[2, 3, 1], [4, 0]]
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    rounds = np.arange(len(order)) // size
    place = np.arange(len(order)) % size
    owner = np.where(rounds % 2 == 0, place, size - 1 - place)
    return [order[owner == r] for r in range(size)]


def gather_rows(indices: np.ndarray, vectors: np.ndarray | None, n: int) -> np.ndarray:
    """Every rank's (indices, vectors) put together on every rank: float32 (n, d), row i = item i.

    A rank with nothing to encode passes `vectors=None`.
    """
    dist = _dist()
    parts: list[Any] = [None] * world().size
    mine = None if vectors is None else np.ascontiguousarray(vectors, dtype=np.float32)
    dist.all_gather_object(parts, (np.asarray(indices, dtype=np.int64), mine))
    dims = {part[1].shape[1] for part in parts if part[1] is not None}
    if len(dims) != 1:
        raise XharnessError(f"ranks returned vectors of different dimensions {sorted(dims)} (or none at all)")
    out = np.empty((n, dims.pop()), dtype=np.float32)
    filled = np.zeros(n, dtype=bool)
    for rows, part in parts:
        if part is not None:
            out[rows] = part
            filled[rows] = True
    if not filled.all():
        raise XharnessError(f"{int((~filled).sum())} of {n} sentences were encoded by no rank")
    return out


def agree_missing(texts: Sequence[str], missing: np.ndarray) -> np.ndarray:
    """The texts any rank lacks in its cache (so every rank encodes, and then holds, the same set).

    Ranks that read different sentences (data that differs between nodes) are refused here,
    before they encode anything, rather than left to hang or to score different data.
    """
    dist = _dist()
    digest = hashlib.sha256("\n".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
    parts: list[Any] = [None] * world().size
    dist.all_gather_object(parts, (digest, np.packbits(missing)))
    if len({part[0] for part in parts}) != 1:
        raise XharnessError("the ranks were given different sentences to embed; each node must read the same data files")
    union = np.bitwise_or.reduce([part[1] for part in parts])
    return np.unpackbits(union, count=len(texts)).astype(bool)


def broadcast(value: Any) -> Any:
    """Rank 0's `value` on every rank (decisions taken from files only rank 0 is sure to see)."""
    dist = _dist()
    box = [value if world().is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def decided_by_main(decide: Callable[[], Any], w: World | None = None) -> Any:
    """`decide()` run on rank 0 only (it reads files), its value on every rank; its refusal
    (XharnessError) is raised on every rank, so no rank is left waiting for the others.

    With one process this is just `decide()`, and torch is not imported.
    """
    w = w or world()
    if not w.distributed:
        return decide()
    value: Any = None
    if w.is_main:
        try:
            value = decide()
        except XharnessError as exc:
            value = exc
    value = broadcast(value)
    if isinstance(value, XharnessError):
        if not w.is_main:
            value.told_by_main = True  # rank 0 prints it; the others exit quietly with the same code
        raise value
    return value


def total(value: int | None) -> int | None:
    """The sum over ranks of a count; None when no rank counts."""
    dist = _dist()
    parts: list[Any] = [None] * world().size
    dist.all_gather_object(parts, value)
    counted = [part for part in parts if part is not None]
    return sum(counted) if counted else None
