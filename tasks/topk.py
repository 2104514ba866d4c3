"""Exact one-way top-k over a large candidate matrix, read a block at a time (it may be a numpy memmap).

Mewsli-X ranks ~1M entity vectors for each mention: holding them all, plus a FAISS copy, is
what this avoids. On CPU each block is one BLAS matmul per query chunk folded into a running
top-k with the helpers of `knn.py` (same tie rule: equal similarities go to the lower index,
also across the k-th place); with faiss-gpu and a visible GPU, each block is searched by an
exact FAISS index sharded over the GPUs (FAISS then settles a tie at the k-th place itself).
`embed_to_memmap` writes a large side's vectors to disk as they are encoded.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from xharness.tasks.knn import _merge_hits, _topk_first_block, check_k, check_vectors, flat_gpu_index

CANDIDATE_BLOCK = 32768  # candidate rows read at a time (48 MB at d=384)
QUERY_CHUNK = 512  # queries per similarity block: with CANDIDATE_BLOCK, a 64 MB block
SEED_COLUMNS = 1024  # the first block's columns that seed each query's k best
EMBED_CHUNK = 65536  # texts embedded per call by `embed_to_memmap`, then written to disk


def _release_pages(candidates: object) -> None:
    """Drop a read-only memmap's pages from this process's memory (they stay in the file)."""
    mm = getattr(candidates, "_mmap", None)
    if isinstance(candidates, np.memmap) and candidates.mode == "r" and mm is not None and hasattr(mm, "madvise"):
        import mmap

        mm.madvise(mmap.MADV_DONTNEED)


def _gpu_block_topk(q: np.ndarray, k: int, gpu_index) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each query within the block held by `gpu_index` (block-local indices); FAISS settles a k-th-place tie."""
    D, I = gpu_index.search(q, k)
    order = np.lexsort((I, -D), axis=1)
    return np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1).astype(np.int64)


def _merge(D: np.ndarray, I: np.ndarray, D_new: np.ndarray, I_new: np.ndarray) -> None:
    """Keep the k best of the running (D, I) and a later block's (D_new, I_new), in place; the earlier wins ties."""
    k = D.shape[1]
    both_D = np.concatenate([D, D_new], axis=1)
    both_I = np.concatenate([I, I_new], axis=1)
    order = np.lexsort((both_I, -both_D), axis=1)[:, :k]
    D[:] = np.take_along_axis(both_D, order, axis=1)
    I[:] = np.take_along_axis(both_I, order, axis=1)


def _cpu_block_update(D: np.ndarray, I: np.ndarray, S: np.ndarray, c0: int) -> None:
    """Fold a (rows, width) similarity block whose first column is candidate c0 into the running (D, I), in place.

    The first block seeds each row from its first SEED_COLUMNS columns (a partition over the
    whole block would cost more than its matmul); everything else only contributes entries
    strictly above the row's current k-th best, so a later equal value (a higher index)
    never displaces an earlier one.
    """
    k = D.shape[1]
    if c0 == 0:
        seed = min(S.shape[1], max(k, SEED_COLUMNS))
        D[:], I[:] = _topk_first_block(S[:, :seed], k)
        S = S[:, seed:]
        c0 = seed
        if S.shape[1] == 0:
            return
    hits = np.flatnonzero(S > D[:, -1:])
    if hits.size:
        r, c = np.divmod(hits, S.shape[1])
        _merge_hits(D, I, r, c + c0, S.ravel()[hits])


def blocked_topk(
    queries: np.ndarray,
    candidates: np.ndarray,
    *,
    k: int,
    block_size: int | None = None,
    query_chunk: int | None = None,
    progress: Callable[[int], object] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k candidates of each query by inner product, reading the candidates a block at a time.

    `candidates` may be a numpy memmap: only one block of it is in memory at a time (a read-only
    memmap's pages are released after each block), plus one (query_chunk, block_size)
    similarity block and the k best per query, whatever the number of candidates.

    Args:
        queries: (n, d) float32, L2-normalised.
        candidates: (m, d), same d, L2-normalised; an ndarray or np.memmap.
        k: neighbours per query, capped at m.
        block_size: candidate rows per block (default CANDIDATE_BLOCK, raised to k when smaller).
        query_chunk: queries per similarity block (default QUERY_CHUNK).
        progress: called with a number of queries as the search advances (the n queries are
            done once every block is; a block adds its share of n).

    Returns:
        (D, I): (n, min(k, m)) float32 similarities and int64 indices, best first; equal
        similarities are ordered by lower index.

    Example:
        >>> q = np.eye(2, dtype=np.float32); c = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> blocked_topk(q, c, k=2, block_size=2)[1].tolist()
        [[1, 2], [0, 2]]
    """
    q = check_vectors(queries, "queries")
    k = check_k(k)
    shape = getattr(candidates, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(f"candidates must be 2-D (m, d), got shape {shape}")
    m, d = int(shape[0]), int(shape[1])
    if d != q.shape[1]:
        raise ValueError(f"queries have shape {q.shape} and candidates have shape {tuple(shape)}: dimensions differ")
    if m == 0 or q.shape[0] == 0:
        raise ValueError(f"cannot search with an empty side: queries {q.shape}, candidates {tuple(shape)}")
    n, kk = q.shape[0], min(k, m)
    block = max(int(block_size or CANDIDATE_BLOCK), kk)
    chunk = max(int(query_chunk or QUERY_CHUNK), 1)
    gpu_index = flat_gpu_index(d)
    D = np.empty((n, kk), dtype=np.float32)
    I = np.empty((n, kk), dtype=np.int64)
    reported = 0
    for c0 in range(0, m, block):
        c1 = min(c0 + block, m)
        cand = check_vectors(candidates[c0:c1], "candidates")  # a memmap block is read, not copied
        k_block = min(kk, c1 - c0)  # only the last block may be narrower than kk
        if gpu_index is not None:
            gpu_index.reset()
            gpu_index.add(cand)
        for r0 in range(0, n, chunk):
            r1 = min(r0 + chunk, n)
            if gpu_index is None:
                _cpu_block_update(D[r0:r1], I[r0:r1], q[r0:r1] @ cand.T, c0)
                continue
            D_new, I_new = _gpu_block_topk(q[r0:r1], k_block, gpu_index)
            I_new += c0
            if c0 == 0:  # the first block seeds every row (its width >= kk)
                D[r0:r1], I[r0:r1] = D_new, I_new
            else:
                _merge(D[r0:r1], I[r0:r1], D_new, I_new)
        del cand
        _release_pages(candidates)
        if progress is not None:
            done = n * c1 // m
            progress(done - reported)
            reported = done
    return D, I


def embed_to_memmap(
    texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray], path: Path, *, chunk: int | None = None
) -> np.memmap:
    """L2-normalised vectors of `texts`, embedded `chunk` texts at a time into a float32 file at `path`.

    Only one chunk of vectors is in memory at a time; the file is returned as a read-only
    memmap, ready for `blocked_topk`.

    Example:
        >>> import tempfile
        >>> fake = lambda batch: np.array([[len(t), 1.0] for t in batch], np.float32)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     v = embed_to_memmap(["ab", "c", "d"], fake, Path(tmp) / "v.f32", chunk=2)
        ...     (type(v).__name__, v.shape, round(float(v[1, 0]), 4))
        ('memmap', (3, 2), 0.7071)
    """
    from xharness.tasks.knn import l2_normalize

    if not texts:
        raise ValueError("nothing to embed (no texts)")
    step = max(int(chunk or EMBED_CHUNK), 1)
    out = None
    for start in range(0, len(texts), step):
        block = l2_normalize(embed(texts[start:start + step]))
        if out is None:
            out = np.memmap(path, dtype=np.float32, mode="w+", shape=(len(texts), block.shape[1]))
        out[start:start + block.shape[0]] = block
        del block
    assert out is not None
    out.flush()
    shape = out.shape
    del out
    return np.memmap(path, dtype=np.float32, mode="r", shape=shape)


def large_side_vectors(texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray], *, owner: object, chunk: int | None = None) -> np.ndarray:
    """A retrieval task's candidate vectors (L2-normalised): in memory up to `chunk` texts, else streamed to a memmap.

    Above one chunk the vectors go, as they are encoded, to a file in a temporary folder
    that lives as long as `owner` (the task instance), so a million candidates never sit in
    memory at once.
    """
    from xharness.tasks.knn import l2_normalize

    step = max(int(chunk or EMBED_CHUNK), 1)
    if len(texts) <= step:
        return l2_normalize(embed(texts))
    scratch = Path(tempfile.mkdtemp(prefix="xharness-candidates-"))
    weakref.finalize(owner, shutil.rmtree, scratch, ignore_errors=True)
    return embed_to_memmap(texts, embed, scratch / "candidates.f32", chunk=step)
