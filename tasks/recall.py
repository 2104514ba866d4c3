"""Measured recall of an approximate index: its k nearest neighbours against exact search, on a seeded sample.

Approximate indexes (`hnsw`, `ivf`) are opt-in; whenever one is used, the result records how
much of the exact top-k it found, so a number from an approximate run is never mistaken for
an exact one. One function serves every task that accepts an approximate index.

Recall@k of a query is the share of its k approximate neighbours that are at least as similar
as its exact k-th neighbour (within TIE_TOLERANCE): |approximate ∩ exact top-k| / k where there
are no ties, and an equally similar neighbour in place of a tied exact one is no miss. The
value recorded is the mean over the sampled queries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RECALL_SAMPLE = 1000  # queries per direction whose exact top-k is computed
RECALL_SEED = 0
TIE_TOLERANCE = 1e-6  # float32 dot products of unit vectors computed two ways differ by ~1e-7


def recall_at_k(found_similarities: np.ndarray, exact_kth: np.ndarray) -> np.ndarray:
    """Per query, the share of its found neighbours at least as similar as the exact k-th (within TIE_TOLERANCE).

    Args:
        found_similarities: (n, k) similarity of each query to each neighbour the index found.
        exact_kth: (n,) similarity of each query to its exact k-th neighbour.

    Example:
        >>> recall_at_k(np.array([[0.9, 0.5], [0.8, 0.7]]), np.array([0.5, 0.75])).tolist()
        [1.0, 0.5]
    """
    sims, kth = np.asarray(found_similarities), np.asarray(exact_kth)
    if sims.ndim != 2 or kth.shape != (sims.shape[0],):
        raise ValueError(f"found_similarities {sims.shape} must be (n, k) and exact_kth {kth.shape} (n,)")
    return (sims >= kth[:, None] - TIE_TOLERANCE).mean(axis=1)


def sample_rows(n: int, *, sample: int = RECALL_SAMPLE, seed: int = RECALL_SEED) -> np.ndarray:
    """Up to `sample` of range(n), drawn without replacement with `seed`, ascending (all of them when n <= sample)."""
    if n <= sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))


def measured_recall(
    queries: np.ndarray, corpus: np.ndarray, found: np.ndarray, *, sample: int = RECALL_SAMPLE, seed: int = RECALL_SEED
) -> tuple[float, int]:
    """(mean recall@k of `found` against exact search, queries sampled) for L2-normalised vectors.

    Args:
        queries: (n, d) the vectors that were searched.
        corpus: (m, d) what they were searched in.
        found: (n, k) the indices the approximate index returned, one row per query.
    """
    from xharness.tasks.topk import blocked_topk

    found = np.asarray(found)
    if found.ndim != 2 or found.shape[0] != queries.shape[0]:
        raise ValueError(f"found has shape {found.shape}; expected one row per query of {queries.shape}")
    rows = sample_rows(queries.shape[0], sample=sample, seed=seed)
    q = np.ascontiguousarray(queries[rows], dtype=np.float32)
    exact, _ = blocked_topk(q, corpus, k=found.shape[1])
    picked = found[rows]
    sims = np.einsum("id,ijd->ij", q, np.asarray(corpus[picked.ravel()], dtype=np.float32).reshape(*picked.shape, -1))
    return float(recall_at_k(sims, exact[:, -1]).mean()), int(rows.size)


def two_way_recall(x: np.ndarray, y: np.ndarray, nb: Any, *, index: str, sample: int = RECALL_SAMPLE, seed: int = RECALL_SEED) -> dict[str, Any]:
    """What a result records about an approximate two-way search `nb` (a knn.Neighbours) of x against y.

    Example:
        >>> from xharness.tasks.knn import two_way_knn
        >>> x = np.eye(3, dtype=np.float32); y = np.eye(3, dtype=np.float32)[::-1].copy()
        >>> two_way_recall(x, y, two_way_knn(x, y, k=2), index="flat")["recall_at_k"]
        1.0
    """
    fwd, n_fwd = measured_recall(x, y, nb.fwd_I, sample=sample, seed=seed)
    bwd, n_bwd = measured_recall(y, x, nb.bwd_I, sample=sample, seed=seed)
    return {
        "index": index,
        "k": int(nb.fwd_I.shape[1]),
        "recall_at_k": (fwd * n_fwd + bwd * n_bwd) / (n_fwd + n_bwd),
        "fwd": fwd,
        "bwd": bwd,
        "queries": {"fwd": n_fwd, "bwd": n_bwd},
        "seed": seed,
    }


def describe(sample: int = RECALL_SAMPLE, seed: int = RECALL_SEED) -> str:
    """The protocol line saying how the recorded recall was measured."""
    return (
        f"recall@k of the approximate index's k nearest neighbours against exact search (a found neighbour "
        f"at least as similar as the exact k-th counts, within {TIE_TOLERANCE:g}), "
        f"on up to {sample} queries per direction drawn with seed {seed}, both directions pooled"
    )
