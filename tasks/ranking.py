"""Ranking metrics at a cut-off (AP@k, reciprocal rank@k) on hit matrices, numpy in and numpy out.

A ranking arrives as a hit matrix: `hits[i, j]` is true when query i's j-th ranked candidate
(best first) is one of its targets. The retrieval tasks (LAReQA, Mewsli-X) build it from the
exact top-k of `topk.blocked_topk`, whose ties go to the lower candidate index.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _check_hits(hits: object) -> np.ndarray:
    arr = np.asarray(hits)
    if arr.ndim != 2:
        raise ValueError(f"hits must be 2-D (queries, ranks), got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError(f"hits must hold 0/1 or booleans, got dtype {arr.dtype} with other values")
        arr = arr.astype(bool)
    return arr


def hit_matrix(ranked: Sequence[Sequence[object]], targets: Sequence[object]) -> np.ndarray:
    """`hits[i, j]` = ranked[i][j] is in targets[i] (a set, or one id); short rankings pad with misses.

    Example:
        >>> hit_matrix([["a", "b"], ["c"]], [{"b"}, "c"]).astype(int).tolist()
        [[0, 1], [1, 0]]
    """
    width = max((len(row) for row in ranked), default=0)
    out = np.zeros((len(ranked), width), dtype=bool)
    for i, (row, gold) in enumerate(zip(ranked, targets, strict=True)):
        wanted = gold if isinstance(gold, (set, frozenset)) else {gold}
        for j, item in enumerate(row):
            out[i, j] = item in wanted
    return out


def average_precision_at_k(hits: object, n_targets: object, *, k: int = 20) -> np.ndarray:
    """AP@k per query: the sum over hits in the top k of (hits so far / rank), over min(#targets, k).

    This is LAReQA's definition (XTREME-R): with more than k targets a perfect top k scores 1,
    and a ranking shorter than k (fewer candidates than k) counts only what it holds.

    Args:
        hits: (n, r) booleans, best rank first; only the first k columns count.
        n_targets: (n,) number of targets of each query (at least 1).
        k: the cut-off.

    Returns:
        (n,) float64 in [0, 1].

    Example:
        >>> average_precision_at_k([[1, 0, 1], [0, 1, 0]], [2, 3], k=3).round(4).tolist()
        [0.8333, 0.1667]
        >>> average_precision_at_k([[1, 1]], [30], k=2).tolist()  # more targets than k: min(30, 2)
        [1.0]
    """
    h = _check_hits(hits)[:, :k]
    counts = np.asarray(n_targets, dtype=np.int64)
    if counts.shape != (h.shape[0],):
        raise ValueError(f"n_targets has shape {counts.shape}, expected ({h.shape[0]},) for hits of shape {h.shape}")
    if (counts < 1).any():
        raise ValueError("every query needs at least one target")
    if (h.sum(axis=1) > counts).any():
        raise ValueError("a query has more hits than targets")
    ranks = np.arange(1, h.shape[1] + 1)
    precision = np.cumsum(h, axis=1) / ranks
    return (precision * h).sum(axis=1) / np.minimum(counts, k)


def reciprocal_rank_at_k(hits: object, *, k: int = 20) -> np.ndarray:
    """1 / rank of the first hit within the top k per query; 0 when there is none.

    Example:
        >>> reciprocal_rank_at_k([[0, 0, 1], [1, 1, 0], [0, 0, 0]], k=3).round(4).tolist()
        [0.3333, 1.0, 0.0]
        >>> reciprocal_rank_at_k([[0, 0, 1]], k=2).tolist()
        [0.0]
    """
    h = _check_hits(hits)[:, :k]
    if h.shape[1] == 0:
        return np.zeros(h.shape[0])
    found = h.any(axis=1)
    first = h.argmax(axis=1)
    return np.where(found, 1.0 / (first + 1), 0.0)
