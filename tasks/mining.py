"""Margin-based bitext mining (Artetxe & Schwenk 2019; the algorithm of LASER's `mine_bitexts`).

Pure numpy-in / numpy-out building blocks (`two_way_knn`, `neighbour_means`,
`best_candidates`, `candidates`, `greedy_one_to_one`) and the one-call `mine`, which a task
(BUCC, a generic bitext probe) wraps. Nothing here reads files, prints or keeps state.

Definitions (`x` a source vector, `y` a target vector, both L2-normalised):

- `fwd_mean[x]`: mean cosine of x to its `min(k, n_tgt)` nearest targets;
  `bwd_mean[y]`: mean cosine of y to its `min(k, n_src)` nearest sources.
- `score(x, y) = margin(cos(x, y), (fwd_mean[x] + bwd_mean[y]) / 2)`, with margin `ratio`
  (a / b), `distance` (a - b) or `absolute` (a).
- A source's forward candidate is the best-scoring of its k nearest targets; a target's
  backward candidate is the best-scoring of its k nearest sources.

Deterministic tie-breaking, everywhere (LASER and XTREME sort with numpy's default unstable
quicksort, so their order among equal scores is unspecified):

- kNN: equal similarities are ordered by lower index first (the exact CPU pass also keeps
  the lower index when a tie straddles the k-th place; FAISS, used on GPU and for the
  approximate indexes, settles that boundary itself).
- Among a query's k candidates, the first maximum in neighbour order wins (the nearer one).
- Mined pairs are listed by descending score; equal scores put forward candidates before
  backward ones (only matters for `max`), then the lower source index, then the lower
  target index. `max` keeps a pair only if no pair earlier in this order took its source or
  its target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np

from xharness.tasks.retrieval import MARGINS, l2_normalize, margin_rescore

Retrieval = Literal["max", "fwd", "bwd", "intersect"]
RETRIEVALS: tuple[str, ...] = ("max", "fwd", "bwd", "intersect")
IndexKind = Literal["flat", "hnsw", "ivf"]
INDEXES: tuple[str, ...] = ("flat", "hnsw", "ivf")

# Approximate-index settings, chosen for high recall on sentence embeddings (>0.95 of the
# exact 4-NN on clustered data in tests/test_mining.py); exact search stays the default.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_LISTS_PER_SQRT_N = 4  # nlist = 4 * sqrt(corpus size), the usual FAISS rule of thumb
IVF_MIN_POINTS_PER_LIST = 39  # FAISS warns below 39 training points per centroid
IVF_PROBE_FRACTION = 8  # probe 1/8 of the lists (at least 8)

SEARCH_CHUNK = 16384  # queries per FAISS call: bounds the temporary result buffers
BLOCK_SIZE = 2048  # rows and columns of one similarity block in the exact pass (16 MB)


class Neighbours(NamedTuple):
    """k nearest neighbours both ways, FAISS `(D, I)` conventions, best first.

    `fwd_D[x, j]` is the cosine of source x to its j-th nearest target `fwd_I[x, j]`;
    `bwd_D[y, j]`, `bwd_I[y, j]` the same from target y into the sources. A pair seen from
    both sides carries the same similarity value in both arrays.
    """

    fwd_D: np.ndarray  # (n_src, min(k, n_tgt)) float32
    fwd_I: np.ndarray  # (n_src, min(k, n_tgt)) int64
    bwd_D: np.ndarray  # (n_tgt, min(k, n_src)) float32
    bwd_I: np.ndarray  # (n_tgt, min(k, n_src)) int64


# --------------------------------------------------------------------------------------------
# input checks


def _check_vectors(x: object, name: str) -> np.ndarray:
    """A C-contiguous float32 (n, d) copy-or-view of `x`; n may be 0."""
    arr = np.asarray(x)
    if arr.dtype == bool or arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype} with shape {arr.shape}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} (shape {arr.shape}) contains NaN or infinite values")
    return arr


def _check_pair(src: object, tgt: object) -> tuple[np.ndarray, np.ndarray]:
    x = _check_vectors(src, "src")
    y = _check_vectors(tgt, "tgt")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"src has shape {x.shape} and tgt has shape {y.shape}: dimensions differ")
    return x, y


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)


def _check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(choices)}")
    return str(value)


# --------------------------------------------------------------------------------------------
# k nearest neighbours, both ways


def _topk_first_block(S: np.ndarray, k: int, *, columns: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row of S (of each column with `columns`), best first, equal values by lower index."""
    if columns:
        S = np.ascontiguousarray(S.T)  # a copy: row-wise reductions are the fast ones
    if k <= 8:
        # k arg-max passes are ~20x faster than argpartition for the usual k = 4, and
        # argmax returns the first maximum, which is the tie rule we want.
        work = S if columns else S.copy()  # the passes overwrite each maximum found
        rows = np.arange(S.shape[0])
        D = np.empty((S.shape[0], k), dtype=np.float32)
        I = np.empty((S.shape[0], k), dtype=np.int64)
        for j in range(k):
            best = work.argmax(axis=1)
            I[:, j] = best
            D[:, j] = work[rows, best]
            work[rows, best] = -np.inf
        return D, I
    # Larger k: the k-th largest value by partition, then everything above it plus the
    # lowest-index entries equal to it (argpartition alone would pick among ties arbitrarily).
    rows, width = S.shape
    kth = np.partition(S, width - k, axis=1)[:, width - k : width - k + 1]
    above = S > kth
    tied = S == kth
    need = k - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= need))
    cols = (np.flatnonzero(chosen) % width).reshape(rows, k)
    vals = np.take_along_axis(S, cols, axis=1)
    order = np.lexsort((cols, -vals), axis=1)
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cols, order, axis=1)


def _merge_hits(D: np.ndarray, I: np.ndarray, rows: np.ndarray, idx: np.ndarray, vals: np.ndarray) -> None:
    """Merge new (row, index, value) hits into the per-row top-k state (D, I) in place."""
    k = D.shape[1]
    touched = np.unique(rows)
    all_rows = np.concatenate([np.repeat(touched, k), rows])
    all_vals = np.concatenate([D[touched].ravel(), vals])
    all_idx = np.concatenate([I[touched].ravel(), idx])
    # Explicit keys, not sort stability: row, then value descending, then lower index.
    order = np.lexsort((all_idx, -all_vals, all_rows))
    all_rows, all_vals, all_idx = all_rows[order], all_vals[order], all_idx[order]
    starts = np.searchsorted(all_rows, touched)
    rank = np.arange(all_rows.size) - np.repeat(starts, np.diff(np.append(starts, all_rows.size)))
    keep = rank < k  # every touched row has >= k entries (its old k), so all k slots refill
    D[all_rows[keep], rank[keep]] = all_vals[keep]
    I[all_rows[keep], rank[keep]] = all_idx[keep]


def blocked_two_way_knn(src: np.ndarray, tgt: np.ndarray, *, k: int = 4, block_size: int = BLOCK_SIZE) -> Neighbours:
    """Exact k nearest neighbours both ways from one pass over src x tgt similarity blocks.

    Two FAISS searches compute every similarity twice; this computes each block once (one
    BLAS matmul) and updates a running top-k along its rows and along its columns. After a
    row's first block only entries above its current k-th best are touched, so the update
    costs two comparisons and a scan per similarity. Memory is O(block_size^2 + (n + m) k),
    never O(n m). Both inputs should be L2-normalised (inner product = cosine).

    Args:
        src: (n, d) float32 source vectors.
        tgt: (m, d) float32 target vectors.
        k: neighbours per vector, capped by the other side's size.
        block_size: rows and columns per similarity block (raised to k when smaller).

    Returns:
        Neighbours with `fwd` of shape (n, min(k, m)) and `bwd` of shape (m, min(k, n));
        equal similarities are ordered by lower index.

    Example:
        >>> x = np.array([[1, 0], [0, 1]], np.float32); y = np.array([[0, 1], [0.6, 0.8]], np.float32)
        >>> nb = blocked_two_way_knn(x, y, k=1)
        >>> nb.fwd_I.ravel().tolist(), nb.bwd_I.ravel().tolist()
        ([1, 0], [1, 1])
    """
    x, y = _check_pair(src, tgt)
    k = _check_k(k)
    n, m = x.shape[0], y.shape[0]
    if n == 0 or m == 0:
        raise ValueError(f"cannot search with an empty side: src {x.shape}, tgt {y.shape}")
    block = max(int(block_size), k)
    k_fwd, k_bwd = min(k, m), min(k, n)
    fwd_D = np.empty((n, k_fwd), dtype=np.float32)
    fwd_I = np.empty((n, k_fwd), dtype=np.int64)
    bwd_D = np.empty((m, k_bwd), dtype=np.float32)
    bwd_I = np.empty((m, k_bwd), dtype=np.int64)
    for r0 in range(0, n, block):
        r1 = min(r0 + block, n)
        row_D, row_I = fwd_D[r0:r1], fwd_I[r0:r1]
        for c0 in range(0, m, block):
            c1 = min(c0 + block, m)
            S = x[r0:r1] @ y[c0:c1].T
            col_D, col_I = bwd_D[c0:c1], bwd_I[c0:c1]
            width = c1 - c0
            # Rows (forward): the first column block seeds the state (its width >= k_fwd);
            # later blocks only contribute entries strictly above the current k-th best, so a
            # later equal value (a higher index) never displaces an earlier one.
            if c0 == 0:
                row_D[:], row_I[:] = _topk_first_block(S, k_fwd)
            else:
                hits = np.flatnonzero(S > row_D[:, -1:])
                if hits.size:
                    r, c = np.divmod(hits, width)
                    _merge_hits(row_D, row_I, r, c + c0, S.ravel()[hits])
            # Columns (backward), the same with the roles swapped.
            if r0 == 0:
                col_D[:], col_I[:] = _topk_first_block(S, k_bwd, columns=True)
            else:
                hits = np.flatnonzero(S > col_D[:, -1])
                if hits.size:
                    r, c = np.divmod(hits, width)
                    _merge_hits(col_D, col_I, c, r + r0, S.ravel()[hits])
    return Neighbours(fwd_D, fwd_I, bwd_D, bwd_I)


def _num_gpus() -> int:
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


def build_index(corpus: np.ndarray, *, index: str = "flat"):
    """A FAISS inner-product index over `corpus` ((m, d) float32, L2-normalised), ready to search.

    `flat` is exact (IndexFlatIP). `hnsw` is IndexHNSWFlat (M=32, efConstruction=80,
    efSearch=128): no training, fast, CPU only. `ivf` is IndexIVFFlat with 4 sqrt(m) lists
    (fewer when m is small) trained on at most 256 points per list, probing 1/8 of them.
    `flat` and `ivf` move to all GPUs when the installed FAISS has any.

    Example:
        >>> idx = build_index(np.eye(3, dtype=np.float32), index="hnsw")
        >>> idx.ntotal
        3
    """
    import faiss

    c = _check_vectors(corpus, "corpus")
    kind = _check_choice(index, "index", INDEXES)
    m, d = c.shape
    if m == 0:
        raise ValueError(f"cannot index an empty corpus (shape {c.shape})")
    if kind == "hnsw":
        idx = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        idx.hnsw.efSearch = HNSW_EF_SEARCH
        idx.add(c)
        return idx
    if kind == "flat":
        idx = faiss.IndexFlatIP(d)
    else:
        nlist = int(IVF_LISTS_PER_SQRT_N * math.sqrt(m))
        nlist = max(1, min(nlist, m // IVF_MIN_POINTS_PER_LIST))
        quantizer = faiss.IndexFlatIP(d)
        idx = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        # A fixed-seed sample keeps training (and so the results) reproducible.
        sample = min(m, 256 * nlist)
        train = c if sample == m else c[np.sort(np.random.default_rng(0).choice(m, sample, replace=False))]
        idx.train(train)
        idx.nprobe = min(nlist, max(8, nlist // IVF_PROBE_FRACTION))
    if _num_gpus() > 0:
        idx = faiss.index_cpu_to_all_gpus(idx)
    idx.add(c)
    return idx


def _pair_dots(queries: np.ndarray, corpus: np.ndarray, I: np.ndarray) -> np.ndarray:
    """`out[i, j] = queries[i] . corpus[I[i, j]]`, computed the same way whichever side asks."""
    out = np.empty(I.shape, dtype=np.float32)
    for start in range(0, I.shape[0], SEARCH_CHUNK):
        stop = min(start + SEARCH_CHUNK, I.shape[0])
        # Elementwise products then a sum over d: dot(x, y) and dot(y, x) are bitwise equal.
        out[start:stop] = np.einsum("id,ijd->ij", queries[start:stop], corpus[I[start:stop]])
    return out


def faiss_knn(queries: np.ndarray, corpus: np.ndarray, *, k: int, index: str = "flat") -> tuple[np.ndarray, np.ndarray]:
    """k nearest corpus items of each query by inner product with a FAISS index (GPU when present).

    Similarities are recomputed as plain dot products of the returned pairs, so a pair gets the
    same value from either side, and rows are re-sorted best first (equal values: lower index).
    Any slot an approximate index leaves empty (-1) is filled by exact search for that query.

    Args:
        queries: (n, d) float32, L2-normalised.
        corpus: (m, d) float32, L2-normalised, same d.
        k: neighbours per query, capped at m.
        index: "flat" (exact), "hnsw" or "ivf" (approximate); see `build_index`.

    Returns:
        (D, I): (n, min(k, m)) float32 similarities and int64 indices, best first.

    Example:
        >>> q = np.eye(2, dtype=np.float32); c = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> D, I = faiss_knn(q, c, k=2)
        >>> I.tolist()
        [[1, 2], [0, 2]]
    """
    q = _check_vectors(queries, "queries")
    c = _check_vectors(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have shape {q.shape} and corpus has shape {c.shape}: dimensions differ")
    k = min(_check_k(k), c.shape[0])
    idx = build_index(c, index=index)
    I = np.empty((q.shape[0], k), dtype=np.int64)
    for start in range(0, q.shape[0], SEARCH_CHUNK):
        stop = min(start + SEARCH_CHUNK, q.shape[0])
        I[start:stop] = idx.search(q[start:stop], k)[1]
    missing = np.flatnonzero((I < 0).any(axis=1))
    if missing.size:  # rare: redo those queries exactly (on CPU, memory-bounded)
        I[missing] = blocked_two_way_knn(q[missing], c, k=k).fwd_I
    D = _pair_dots(q, c, I)
    order = np.lexsort((I, -D), axis=1)
    return np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1)


def two_way_knn(src: np.ndarray, tgt: np.ndarray, *, k: int = 4, index: str = "flat") -> Neighbours:
    """k nearest neighbours by inner product in both directions, capped by the other side's size.

    `index="flat"` is exact: on CPU a single blocked pass (`blocked_two_way_knn`; about 0.5-0.8x
    the time of two FAISS IndexFlatIP searches at 20k-40k sentences, d=384, on 2 cores, see
    benchmarks/mining.py), on GPU two FAISS searches. `hnsw` and `ivf` are approximate FAISS
    indexes for millions of sentences.
    Inputs should be L2-normalised.

    Example:
        >>> x = np.eye(2, dtype=np.float32); y = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> nb = two_way_knn(x, y, k=2)
        >>> nb.fwd_I.tolist(), nb.bwd_I.tolist()
        ([[1, 2], [0, 2]], [[1, 0], [0, 1], [1, 0]])
    """
    x, y = _check_pair(src, tgt)
    k = _check_k(k)
    kind = _check_choice(index, "index", INDEXES)
    if kind == "flat" and _num_gpus() == 0:
        return blocked_two_way_knn(x, y, k=k)
    fwd_D, fwd_I = faiss_knn(x, y, k=k, index=kind)
    bwd_D, bwd_I = faiss_knn(y, x, k=k, index=kind)
    return Neighbours(fwd_D, fwd_I, bwd_D, bwd_I)


# --------------------------------------------------------------------------------------------
# margin scores and candidates


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
    _check_choice(margin, "margin", MARGINS)
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
        >>> s, t, sc = candidates(two_way_knn(x, y, k=2), retrieval="max")
        >>> s.tolist(), t.tolist(), [round(float(v), 4) for v in sc]
        ([0, 1], [1, 0], [1.5385, 1.4286])
    """
    _check_choice(margin, "margin", MARGINS)
    mode = _check_choice(retrieval, "retrieval", RETRIEVALS)
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


# --------------------------------------------------------------------------------------------
# de-duplication (LASER's --unify)


def unique_lines(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`(first, inverse)`: the first line of each distinct text, and each line's text number.

    `texts[first[inverse[i]]] == texts[i]`; distinct texts are numbered by first appearance.

    Example:
        >>> [a.tolist() for a in unique_lines(["a", "b", "a", "c"])]
        [[0, 1, 3], [0, 1, 0, 2]]
    """
    number: dict[str, int] = {}
    inverse = np.fromiter((number.setdefault(line, len(number)) for line in texts), dtype=np.int64, count=len(texts))
    # Texts are numbered by first appearance, so np.unique's first-occurrence indices line up.
    first = np.unique(inverse, return_index=True)[1].astype(np.int64)
    return first, inverse


def _expand_unified(
    s: np.ndarray, t: np.ndarray, sc: np.ndarray, src_inverse: np.ndarray, tgt_inverse: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each mined (unique src, unique tgt) pair -> every (line i, line j) holding those texts."""

    def members(inverse: np.ndarray, n_unique: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lines = np.argsort(inverse, kind="stable")  # lines grouped by text, ascending within
        counts = np.bincount(inverse, minlength=n_unique)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return lines, counts, starts

    src_lines, src_counts, src_starts = members(src_inverse, int(src_inverse.max()) + 1)
    tgt_lines, tgt_counts, tgt_starts = members(tgt_inverse, int(tgt_inverse.max()) + 1)
    cs, ct = src_counts[s], tgt_counts[t]
    per_pair = cs * ct
    pair = np.repeat(np.arange(s.size), per_pair)
    offset = np.arange(pair.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    a, b = np.divmod(offset, ct[pair])
    i = src_lines[src_starts[s[pair]] + a]
    j = tgt_lines[tgt_starts[t[pair]] + b]
    return i, j, sc[pair]


# --------------------------------------------------------------------------------------------
# the one call


def mine(
    src: np.ndarray,
    tgt: np.ndarray,
    *,
    k: int = 4,
    margin: str = "ratio",
    retrieval: str = "max",
    threshold: float | None = None,
    index: str = "flat",
    unify: bool = False,
    src_texts: Sequence[str] | None = None,
    tgt_texts: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mine parallel sentence pairs from two sets of sentence embeddings by margin scores.

    L2-normalises both sides, finds k nearest neighbours both ways (k capped by the other
    side's size), scores candidates with `margin(cos(x, y), (fwd_mean[x] + bwd_mean[y]) / 2)`
    and selects pairs by `retrieval` (see `candidates` and the module notes for ties).
    Memory stays O((n + m)(d + k)) plus one similarity block; no n x m matrix is built.

    Args:
        src: (n, d) source embeddings (any real dtype; used as float32).
        tgt: (m, d) target embeddings.
        k: neighbourhood size for the means and the candidate lists (4 as in LASER).
        margin: "ratio" (default), "distance" or "absolute".
        retrieval: "max" (default), "fwd", "bwd" or "intersect".
        threshold: keep only pairs with `score >= threshold` (inclusive, so a threshold read
            off a candidate's own score keeps that candidate; LASER keeps `score > threshold`,
            and only in `max` mode). For `max` it is applied after the greedy selection,
            which is the same as before it because candidates are taken best first.
        index: "flat" (exact, default), "hnsw" or "ivf" (approximate FAISS indexes for
            millions of sentences; GPU is used for flat/ivf when FAISS has one).
        unify: mine distinct texts only (LASER's `--unify`): lines with identical text are
            merged before mining (the first line's embedding stands for them) and each mined
            text pair is reported for every combination of its source lines and target lines,
            by ascending line numbers, all with the pair's score. So every line that holds a
            mined text appears, and a gold pair naming the second copy of a duplicated
            sentence is found, rather than dropped as it would be if only the first line
            were reported. Needs `src_texts` and `tgt_texts`.
        src_texts, tgt_texts: the sentences, one per row (checked for length when given;
            only used by `unify`).

    Returns:
        `(src_idx, tgt_idx, scores)`: int64, int64, float32 arrays of equal length, best first.
        Empty arrays when either side has no rows.

    Raises:
        TypeError: non-numeric embeddings, or k not an integer.
        ValueError: shapes that are not (n, d) with equal d, NaN/inf or all-zero vectors,
            unknown options, texts missing or of the wrong length.

    Example:
        >>> src = np.array([[1, 0], [0, 1]], np.float32)
        >>> tgt = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> s, t, sc = mine(src, tgt, k=2)  # (0, 1): cos 1 / ((0.8 + 0.5) / 2) = 1.538...
        >>> s.tolist(), t.tolist(), [round(float(v), 3) for v in sc]
        ([0, 1], [1, 0], [1.538, 1.429])
    """
    k = _check_k(k)
    _check_choice(margin, "margin", MARGINS)
    _check_choice(retrieval, "retrieval", RETRIEVALS)
    _check_choice(index, "index", INDEXES)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
            raise TypeError(f"threshold must be a number or None, got {type(threshold).__name__}")
        if math.isnan(threshold):
            raise ValueError("threshold is NaN")
    x, y = _check_pair(src, tgt)
    for texts, vecs, name in ((src_texts, x, "src"), (tgt_texts, y, "tgt")):
        if texts is not None and len(texts) != vecs.shape[0]:
            raise ValueError(f"{name}_texts has {len(texts)} lines but {name} has shape {vecs.shape}")
        if unify and texts is None:
            raise ValueError(f"unify=True needs {name}_texts (the sentences whose duplicates are merged)")
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))
    if x.shape[0] == 0 or y.shape[0] == 0:
        return empty
    if unify:
        src_first, src_inverse = unique_lines(src_texts)  # type: ignore[arg-type]
        tgt_first, tgt_inverse = unique_lines(tgt_texts)  # type: ignore[arg-type]
        x, y = x[src_first], y[tgt_first]
    x, y = l2_normalize(x), l2_normalize(y)
    s, t, sc = candidates(two_way_knn(x, y, k=k, index=index), margin=margin, retrieval=retrieval)
    if threshold is not None:
        keep = sc >= threshold
        s, t, sc = s[keep], t[keep], sc[keep]
    if unify:
        s, t, sc = _expand_unified(s, t, sc, src_inverse, tgt_inverse)
    return s, t, sc
