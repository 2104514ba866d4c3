"""Margin scores and candidate selection for bitext mining (Artetxe & Schwenk 2019), numpy in and numpy out.

The maths under `mining.mine` and xSIM: `margin_rescore`, `neighbour_means`, `best_candidates`,
`candidates`, `greedy_one_to_one`, on top of the kNN engine of `knn.py`. Nothing here reads
files, prints or keeps state; `mining.py` re-exports every name, so callers import from there.

Definitions (`x` a source vector, `y` a target vector, both L2-normalised):

- `fwd_mean[x]`: mean cosine of x to its `min(k, n_tgt)` nearest targets;
  `bwd_mean[y]`: mean cosine of y to its `min(k, n_src)` nearest sources.
- `score(x, y) = margin(cos(x, y), (fwd_mean[x] + bwd_mean[y]) / 2)`, with margin `ratio`
  (a / b), `distance` (a - b) or `absolute` (a).
- A source's forward candidate is the best-scoring of its k nearest targets; a target's
  backward candidate is the best-scoring of its k nearest sources.

Deterministic tie-breaking, everywhere (LASER and XTREME sort with numpy's default unstable
quicksort, so their order among equal scores is unspecified):

- kNN: equal similarities are ordered by lower index first (see `knn.py`).
- Among a query's k candidates, the first maximum in neighbour order wins (the nearer one).
- Mined pairs are listed by descending score; equal scores put forward candidates before
  backward ones (only matters for `max`), then the lower source index, then the lower
  target index. `max` keeps a pair only if no pair earlier in this order took its source or
  its target.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from xharness.tasks.knn import Neighbours, check_choice

MarginKind = Literal["ratio", "distance", "absolute"]
MARGINS: tuple[str, ...] = ("ratio", "distance", "absolute")
Retrieval = Literal["max", "fwd", "bwd", "intersect"]
RETRIEVALS: tuple[str, ...] = ("max", "fwd", "bwd", "intersect")


# --------------------------------------------------------------------------------------------
# margin scores and candidates


def apply_margin(a: np.ndarray, b: np.ndarray, kind: str = "ratio") -> np.ndarray:
    """margin(a, b): `ratio` a/b, `distance` a-b, `absolute` a (Artetxe & Schwenk 2019).

    Example:
        >>> a, b = np.array([0.9], np.float32), np.array([0.6], np.float32)
        >>> [round(float(apply_margin(a, b, kind)[0]), 2) for kind in MARGINS]
        [1.5, 0.3, 0.9]
    """
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

    Example:
        >>> D = np.array([[0.9, 0.8]], np.float32); I = np.array([[0, 1]])
        >>> margin_rescore(D, I, np.array([0.85], np.float32), np.array([0.95, 0.55], np.float32),
        ...                margin="distance").astype(float).round(4).tolist()
        [[0.0, 0.1]]
    """
    if D.shape != I.shape:
        raise ValueError(f"D has shape {D.shape} but I has shape {I.shape}")
    if query_mean.shape != (D.shape[0],):
        raise ValueError(f"query_mean has shape {query_mean.shape}, expected ({D.shape[0]},)")
    denom = (query_mean[:, None] + corpus_mean[I]) / 2
    return apply_margin(D, denom, margin).astype(np.float32, copy=False)



def _check_neighbours(nb: Neighbours) -> tuple[int, int]:
    fwd_D, fwd_I, bwd_D, bwd_I = nb
    if fwd_D.ndim != 2 or fwd_D.shape != fwd_I.shape:
        raise ValueError(f"fwd_D has shape {fwd_D.shape} but fwd_I has shape {fwd_I.shape}")
    if bwd_D.ndim != 2 or bwd_D.shape != bwd_I.shape:
        raise ValueError(f"bwd_D has shape {bwd_D.shape} but bwd_I has shape {bwd_I.shape}")
    n, m = fwd_D.shape[0], bwd_D.shape[0]
    if fwd_D.shape[1] == 0 or bwd_D.shape[1] == 0:
        raise ValueError(f"need at least one neighbour per row: fwd {fwd_D.shape}, bwd {bwd_D.shape}")
    if fwd_I.size and not (0 <= fwd_I.min() and fwd_I.max() < m):
        raise ValueError(f"fwd_I {fwd_I.shape} must index the {m} targets of bwd_D {bwd_D.shape}")
    if bwd_I.size and not (0 <= bwd_I.min() and bwd_I.max() < n):
        raise ValueError(f"bwd_I {bwd_I.shape} must index the {n} sources of fwd_D {fwd_D.shape}")
    return n, m


def neighbour_means(nb: Neighbours) -> tuple[np.ndarray, np.ndarray]:
    """`(fwd_mean, bwd_mean)`: each source's and each target's mean similarity to its k neighbours.

    Example:
        >>> nb = Neighbours(np.array([[0.9, 0.5]], np.float32), np.array([[0, 1]]),
        ...                 np.array([[0.9], [0.5]], np.float32), np.array([[0], [0]]))
        >>> [m.tolist() for m in neighbour_means(nb)]
        [[0.699999988079071], [0.8999999761581421, 0.5]]
    """
    _check_neighbours(nb)
    # float64 accumulation, float32 result (the dtype every score is computed in)
    return (
        nb.fwd_D.mean(axis=1, dtype=np.float64).astype(np.float32),
        nb.bwd_D.mean(axis=1, dtype=np.float64).astype(np.float32),
    )


def best_candidates(
    D: np.ndarray, I: np.ndarray, query_mean: np.ndarray, corpus_mean: np.ndarray, *, margin: str = "ratio"
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's best corpus item among its k neighbours by margin score.

    Args:
        D, I: (n, k) similarities and corpus indices of each query's neighbours, best first.
        query_mean: (n,) mean neighbour similarity of each query.
        corpus_mean: (m,) mean neighbour similarity of each corpus item (to the queries).
        margin: "ratio", "distance" or "absolute".

    Returns:
        (best, score): (n,) int64 corpus index and (n,) float32 margin score. Equal scores go
        to the nearer neighbour (the first in D's order).

    Example:
        >>> D = np.array([[0.9, 0.8]], np.float32); I = np.array([[0, 1]])
        >>> best, score = best_candidates(D, I, np.array([0.85], np.float32),
        ...                               np.array([0.95, 0.55], np.float32), margin="ratio")
        >>> best.tolist(), round(float(score[0]), 4)
        ([1], 1.1429)
    """
    check_choice(margin, "margin", MARGINS)
    scores = margin_rescore(D, I, query_mean, corpus_mean, margin=margin)
    j = scores.argmax(axis=1)
    rows = np.arange(D.shape[0])
    return I[rows, j].astype(np.int64, copy=False), scores[rows, j].astype(np.float32, copy=False)


def _order(scores: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Indices sorting by descending score, then ascending `keys` in the given priority."""
    return np.lexsort(tuple(reversed(keys)) + (-scores,))


def greedy_one_to_one(src_idx: np.ndarray, tgt_idx: np.ndarray) -> np.ndarray:
    """Keep-mask of the pairs (already sorted best first) that take no source or target twice.

    Pair p is kept iff no kept pair before it has its source or its target: the greedy step of
    LASER's `max` retrieval. Vectorised in rounds: a pair that comes first among the undecided
    pairs at both its source and its target is certainly kept (every earlier pair touching it
    was dropped), and pairs touching a kept one are dropped. Usually a few rounds settle
    everything; if a round settles less than 1/16 of what is left (long chains), the rest is
    finished by the plain loop, which gives the same answer.

    Example:
        >>> greedy_one_to_one(np.array([0, 1, 1, 2]), np.array([5, 5, 6, 6])).tolist()
        [True, False, True, False]
    """
    s_all = np.asarray(src_idx, dtype=np.int64)
    t_all = np.asarray(tgt_idx, dtype=np.int64)
    if s_all.shape != t_all.shape or s_all.ndim != 1:
        raise ValueError(f"src_idx {s_all.shape} and tgt_idx {t_all.shape} must be equal 1-D shapes")
    keep = np.zeros(s_all.size, dtype=bool)
    if s_all.size == 0:
        return keep
    if s_all.min() < 0 or t_all.min() < 0:
        raise ValueError("indices must be >= 0")
    taken_s = np.zeros(int(s_all.max()) + 1, dtype=bool)
    taken_t = np.zeros(int(t_all.max()) + 1, dtype=bool)
    first_s = np.empty(taken_s.size, dtype=np.int64)
    first_t = np.empty(taken_t.size, dtype=np.int64)
    alive = np.arange(s_all.size)
    while alive.size:
        s, t = s_all[alive], t_all[alive]
        pos = np.arange(alive.size)
        first_s[s] = alive.size
        np.minimum.at(first_s, s, pos)
        first_t[t] = alive.size
        np.minimum.at(first_t, t, pos)
        win = (first_s[s] == pos) & (first_t[t] == pos)
        keep[alive[win]] = True
        taken_s[s[win]] = True
        taken_t[t[win]] = True
        before = alive.size
        alive = alive[~(taken_s[s] | taken_t[t])]
        if (before - alive.size) * 16 < before:
            break
    # Plain loop over what is left, in order (lists: much faster than numpy scalars).
    seen_s, seen_t = taken_s.tolist(), taken_t.tolist()
    for p, a, b in zip(alive.tolist(), s_all[alive].tolist(), t_all[alive].tolist()):
        if not seen_s[a] and not seen_t[b]:
            seen_s[a] = seen_t[b] = True
            keep[p] = True
    return keep


def candidates(
    nb: Neighbours, *, margin: str = "ratio", retrieval: str = "max"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mined pairs from two-way neighbours: `(src_idx, tgt_idx, scores)`, best first.

    `fwd`: every source with its best target (one pair per source). `bwd`: every target
    with its best source. `intersect`: the pairs that are both (mutual best; scored from the
    forward side, which is the same value since a pair's similarity is the same both ways).
    `max`: forward and backward candidates pooled, sorted best first (forward before
    backward on equal scores), each kept only if neither its source nor its target was taken
    by an earlier pair (`greedy_one_to_one`).

    Args:
        nb: `Neighbours` of L2-normalised vectors (e.g. from `two_way_knn`).
        margin: "ratio" (default), "distance" or "absolute".
        retrieval: "max" (default), "fwd", "bwd" or "intersect".

    Returns:
        int64, int64 and float32 arrays of equal length, by descending score; equal scores by
        lower source index, then lower target index.

    Example:
        >>> x = np.eye(2, dtype=np.float32); y = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> from xharness.tasks.knn import two_way_knn
        >>> s, t, sc = candidates(two_way_knn(x, y, k=2), retrieval="max")
        >>> s.tolist(), t.tolist(), [round(float(v), 4) for v in sc]
        ([0, 1], [1, 0], [1.5385, 1.4286])
    """
    check_choice(margin, "margin", MARGINS)
    mode = check_choice(retrieval, "retrieval", RETRIEVALS)
    nb = Neighbours(*(np.asarray(a) for a in nb))
    n, m = _check_neighbours(nb)
    fwd_mean, bwd_mean = neighbour_means(nb)
    fwd_best, fwd_score = best_candidates(nb.fwd_D, nb.fwd_I, fwd_mean, bwd_mean, margin=margin)
    bwd_best, bwd_score = best_candidates(nb.bwd_D, nb.bwd_I, bwd_mean, fwd_mean, margin=margin)
    src_all, tgt_all = np.arange(n, dtype=np.int64), np.arange(m, dtype=np.int64)
    if mode == "fwd":
        s, t, sc = src_all, fwd_best, fwd_score
    elif mode == "bwd":
        s, t, sc = bwd_best, tgt_all, bwd_score
    elif mode == "intersect":
        mutual = bwd_best[fwd_best] == src_all
        s, t, sc = src_all[mutual], fwd_best[mutual], fwd_score[mutual]
    else:
        s = np.concatenate([src_all, bwd_best])
        t = np.concatenate([fwd_best, tgt_all])
        sc = np.concatenate([fwd_score, bwd_score])
        backward = np.concatenate([np.zeros(n, dtype=np.int8), np.ones(m, dtype=np.int8)])
        order = _order(sc, backward, s, t)
        s, t, sc = s[order], t[order], sc[order]
        keep = greedy_one_to_one(s, t)
        return s[keep], t[keep], sc[keep]
    order = _order(sc, s, t)
    return s[order], t[order], sc[order]
