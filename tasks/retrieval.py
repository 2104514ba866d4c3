"""Pure retrieval maths: L2 normalisation, exact k-nearest neighbours by inner product, margins.

Numpy in, numpy out, FAISS `(D, I)` conventions: `D[i, j]` is the similarity of query i to
its j-th neighbour `I[i, j]`, best first. Shapes are checked and errors name them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

MarginKind = Literal["ratio", "distance", "absolute"]
MARGINS: tuple[str, ...] = ("ratio", "distance", "absolute")


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return np.ascontiguousarray(arr, dtype=np.float32)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32 copy). A zero row is an error, not a NaN."""
    arr = _as_matrix(x, "x").copy()
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        zero = int((norms[:, 0] == 0).sum())
        raise ValueError(f"{zero} of {arr.shape[0]} vectors are all zeros and have no direction")
    arr /= norms
    return arr


def knn(queries: np.ndarray, corpus: np.ndarray, *, k: int, chunk_size: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours of each query in `corpus` by inner product (FAISS IndexFlatIP).

    Args:
        queries: (n, d) float32.
        corpus: (m, d) float32, same d.
        k: neighbours per query; capped at m.
        chunk_size: queries searched per call, so memory stays O(chunk_size * m) at most.

    Returns:
        (D, I): similarities (n, k') float32 and indices (n, k') int64, best first, k' = min(k, m).

    Example:
        >>> q = np.eye(2, dtype=np.float32); c = np.array([[0, 1], [1, 0], [1, 1]], np.float32)
        >>> D, I = knn(q, c, k=1)
        >>> I.ravel().tolist(), D.ravel().tolist()
        ([1, 0], [1.0, 1.0])
    """
    import faiss

    q = _as_matrix(queries, "queries")
    c = _as_matrix(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but corpus has {c.shape[1]}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(k, c.shape[0])
    index = faiss.IndexFlatIP(c.shape[1])
    index.add(c)
    D = np.empty((q.shape[0], k), dtype=np.float32)
    I = np.empty((q.shape[0], k), dtype=np.int64)
    for start in range(0, q.shape[0], chunk_size):
        stop = min(start + chunk_size, q.shape[0])
        D[start:stop], I[start:stop] = index.search(q[start:stop], k)
    return D, I


def apply_margin(a: np.ndarray, b: np.ndarray, kind: str = "ratio") -> np.ndarray:
    """margin(a, b): `ratio` a/b, `distance` a-b, `absolute` a (Artetxe & Schwenk 2019)."""
    if kind == "ratio":
        return a / b
    if kind == "distance":
        return a - b
    if kind == "absolute":
        return np.asarray(a, dtype=np.float32).copy()
    raise ValueError(f"unknown margin {kind!r}; expected one of {', '.join(MARGINS)}")


def margin_rescore(
    D: np.ndarray, I: np.ndarray, query_mean: np.ndarray, corpus_mean: np.ndarray, *, margin: str = "ratio"
) -> np.ndarray:
    """Margin scores of each query's candidates: margin(D[i, j], (query_mean[i] + corpus_mean[I[i, j]]) / 2).

    `query_mean[i]` is the mean similarity of query i to its k nearest corpus items and
    `corpus_mean[c]` the mean similarity of corpus item c to its k nearest queries.
    """
    if D.shape != I.shape:
        raise ValueError(f"D has shape {D.shape} but I has shape {I.shape}")
    if query_mean.shape != (D.shape[0],):
        raise ValueError(f"query_mean has shape {query_mean.shape}, expected ({D.shape[0]},)")
    denom = (query_mean[:, None] + corpus_mean[I]) / 2
    return apply_margin(D, denom, margin).astype(np.float32, copy=False)


def margin_top1(queries: np.ndarray, corpus: np.ndarray, *, k: int = 4, margin: str = "ratio") -> np.ndarray:
    """Best corpus item per query by margin score among its k nearest candidates (LASER's xSIM).

    Both inputs should be L2-normalised. Candidates are the k nearest by cosine, as in LASER's
    `xsim` and `mine_bitexts`; the neighbourhood means use the same k in both directions.
    Exact search; equal similarities go to the lower index.
    """
    from xharness.tasks.mining import two_way_knn

    nb = two_way_knn(queries, corpus, k=k)
    scores = margin_rescore(nb.fwd_D, nb.fwd_I, nb.fwd_D.mean(axis=1), nb.bwd_D.mean(axis=1), margin=margin)
    return nb.fwd_I[np.arange(nb.fwd_I.shape[0]), scores.argmax(axis=1)]


def top1(queries: np.ndarray, corpus: np.ndarray) -> np.ndarray:
    """Index of the nearest corpus item (inner product) for each query; ties go to the lower index, as argmax."""
    from xharness.tasks.mining import blocked_two_way_knn

    return blocked_two_way_knn(_as_matrix(queries, "queries"), _as_matrix(corpus, "corpus"), k=1).fwd_I[:, 0]


def accuracy(predicted: np.ndarray, gold: np.ndarray) -> float:
    """Share of positions where `predicted == gold`, in [0, 1]."""
    predicted, gold = np.asarray(predicted), np.asarray(gold)
    if predicted.shape != gold.shape or predicted.ndim != 1:
        raise ValueError(f"predicted {predicted.shape} and gold {gold.shape} must be equal 1-D shapes")
    if predicted.size == 0:
        raise ValueError("accuracy of zero items is undefined")
    return float((predicted == gold).mean())
