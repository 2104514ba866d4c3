"""Exact one-way top-k over a large candidate matrix, read a block at a time (it may be a numpy memmap).

Mewsli-X ranks ~1M entity vectors for each mention: holding them all, plus a FAISS copy, is
what this avoids. Built on the exact kNN pass's block helpers in `knn.py` (same tie rule:
equal similarities go to the lower index).
"""

from __future__ import annotations

import numpy as np

from xharness.tasks.knn import _merge_hits, _topk_first_block, check_k, check_vectors

CANDIDATE_BLOCK = 16384  # candidate rows read and scored at a time (25 MB at d=384)
QUERY_CHUNK = 256  # queries per similarity block: with CANDIDATE_BLOCK, a 16 MB block


def _release_pages(candidates: object) -> None:
    """Drop a read-only memmap's pages from this process's memory (they stay in the file)."""
    mm = getattr(candidates, "_mmap", None)
    if isinstance(candidates, np.memmap) and candidates.mode == "r" and mm is not None and hasattr(mm, "madvise"):
        import mmap

        mm.madvise(mmap.MADV_DONTNEED)


def blocked_topk(
    queries: np.ndarray, candidates: np.ndarray, *, k: int, block_size: int | None = None, query_chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k candidates of each query by inner product, reading the candidates a block at a time.

    `candidates` may be a numpy memmap: only one block of it is in memory at a time (a read-only
    memmap's pages are released after each block), plus one (query_chunk, block_size) similarity
    block and the k best per query, whatever the number of candidates.

    Args:
        queries: (n, d) float32, L2-normalised.
        candidates: (m, d), same d, L2-normalised; an ndarray or np.memmap.
        k: neighbours per query, capped at m.
        block_size: candidate rows per block (default CANDIDATE_BLOCK, raised to k when smaller).
        query_chunk: queries per similarity block (default QUERY_CHUNK).

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
    kk = min(k, m)
    block = max(int(block_size or CANDIDATE_BLOCK), kk)
    chunk = max(int(query_chunk or QUERY_CHUNK), 1)
    D = np.empty((q.shape[0], kk), dtype=np.float32)
    I = np.empty((q.shape[0], kk), dtype=np.int64)
    for c0 in range(0, m, block):
        c1 = min(c0 + block, m)
        cand = check_vectors(candidates[c0:c1], "candidates")  # one block, copied into memory
        for r0 in range(0, q.shape[0], chunk):
            r1 = min(r0 + chunk, q.shape[0])
            S = q[r0:r1] @ cand.T
            if c0 == 0:  # the first block seeds every row (its width >= kk)
                D[r0:r1], I[r0:r1] = _topk_first_block(S, kk)
                continue
            # Strictly above the current k-th best: a later equal value never displaces a lower index.
            hits = np.flatnonzero(S > D[r0:r1, -1:])
            if hits.size:
                r, c = np.divmod(hits, c1 - c0)
                _merge_hits(D[r0:r1], I[r0:r1], r, c + c0, S.ravel()[hits])
        del cand
        _release_pages(candidates)
    return D, I
