"""Exact and approximate k nearest neighbours by inner product, both ways, numpy in and numpy out.

The search engine under every retrieval task: `two_way_knn` (an exact blocked pass on CPU,
FAISS on GPU or for the approximate `hnsw`/`ivf` indexes), FAISS `(D, I)` conventions (`D[i, j]`
is the similarity of row i to its j-th neighbour `I[i, j]`, best first), `l2_normalize`, and the
input checks that name the offending shapes. Margins and mining are built on it in `mining.py`.

Ties: equal similarities are ordered by lower index first (the exact CPU pass also keeps the
lower index when a tie straddles the k-th place; FAISS, used on GPU and for the approximate
indexes, settles that boundary itself).
"""

from __future__ import annotations

import math
from typing import Callable, Literal, NamedTuple

import numpy as np

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


def check_vectors(x: object, name: str) -> np.ndarray:
    """A C-contiguous float32 (n, d) copy-or-view of `x`; n may be 0. Errors name the shape.

    Example:
        >>> check_vectors([[1, 2]], "src").dtype
        dtype('float32')
        >>> check_vectors(np.zeros(3), "src")
        Traceback (most recent call last):
        ...
        ValueError: src must be 2-D (n, d), got shape (3,)
    """
    arr = np.asarray(x)
    if arr.dtype == bool or arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype} with shape {arr.shape}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} (shape {arr.shape}) contains NaN or infinite values")
    return arr


def check_pair(src: object, tgt: object) -> tuple[np.ndarray, np.ndarray]:
    x = check_vectors(src, "src")
    y = check_vectors(tgt, "tgt")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"src has shape {x.shape} and tgt has shape {y.shape}: dimensions differ")
    return x, y


def check_k(k: object) -> int:
    """`k` as an int >= 1; a bool, a float or a k below 1 is refused.

    Example:
        >>> check_k(np.int64(4))
        4
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return int(k)


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(choices)}")
    return str(value)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32 copy). A zero row is an error, not a NaN.

    Example:
        >>> l2_normalize(np.array([[3, 4], [0, 2]])).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 1.0]]
    """
    arr = check_vectors(x, "x").copy()
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        zero = int((norms[:, 0] == 0).sum())
        raise ValueError(f"{zero} of {arr.shape[0]} vectors are all zeros and have no direction")
    arr /= norms
    return arr


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


def blocked_two_way_knn(
    src: np.ndarray, tgt: np.ndarray, *, k: int = 4, block_size: int = BLOCK_SIZE, progress: Callable[[int], object] | None = None
) -> Neighbours:
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
        progress: called with a number of queries as the pass advances; the n + m queries
            (sources forward, targets backward) are done when the last row block is.

    Returns:
        Neighbours with `fwd` of shape (n, min(k, m)) and `bwd` of shape (m, min(k, n));
        equal similarities are ordered by lower index.

    Example:
        >>> x = np.array([[1, 0], [0, 1]], np.float32); y = np.array([[0, 1], [0.6, 0.8]], np.float32)
        >>> nb = blocked_two_way_knn(x, y, k=1)
        >>> nb.fwd_I.ravel().tolist(), nb.bwd_I.ravel().tolist()
        ([1, 0], [1, 1])
    """
    x, y = check_pair(src, tgt)
    k = check_k(k)
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
        if progress is not None:  # each row block is its share of both directions
            progress((n + m) * r1 // n - (n + m) * r0 // n)
    return Neighbours(fwd_D, fwd_I, bwd_D, bwd_I)


def _num_gpus() -> int:
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


def to_all_gpus(index):
    """`index` sharded over every visible GPU (each holds 1/n of the vectors), or `index` itself without one.

    The one place where FAISS indexes move to GPUs (faiss-gpu installed and a GPU visible):
    sharding, not replication, so a candidate set larger than one GPU's memory still fits.
    """
    if _num_gpus() == 0:
        return index
    import faiss

    options = faiss.GpuMultipleClonerOptions()
    options.shard = True
    return faiss.index_cpu_to_all_gpus(index, co=options)


def flat_gpu_index(d: int):
    """An empty exact inner-product index sharded over the GPUs, or None where there is no GPU."""
    if _num_gpus() == 0:
        return None
    import faiss

    return to_all_gpus(faiss.IndexFlatIP(d))


def build_index(corpus: np.ndarray, *, index: str = "flat"):
    """A FAISS inner-product index over `corpus` ((m, d) float32, L2-normalised), ready to search.

    `flat` is exact (IndexFlatIP). `hnsw` is IndexHNSWFlat (M=32, efConstruction=80,
    efSearch=128): no training, fast, CPU only. `ivf` is IndexIVFFlat with 4 sqrt(m) lists
    (fewer when m is small) trained on at most 256 points per list, probing 1/8 of them.
    `flat` and `ivf` are sharded over the GPUs when the installed FAISS has any (`to_all_gpus`).

    Example:
        >>> idx = build_index(np.eye(3, dtype=np.float32), index="hnsw")
        >>> idx.ntotal
        3
    """
    import faiss

    c = check_vectors(corpus, "corpus")
    kind = check_choice(index, "index", INDEXES)
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
    idx = to_all_gpus(idx)
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


def faiss_knn(
    queries: np.ndarray, corpus: np.ndarray, *, k: int, index: str = "flat", progress: Callable[[int], object] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest corpus items of each query by inner product with a FAISS index (GPU when present).

    Similarities are recomputed as plain dot products of the returned pairs, so a pair gets the
    same value from either side, and rows are re-sorted best first (equal values: lower index).
    Any slot an approximate index leaves empty (-1) is filled by exact search for that query.

    Args:
        queries: (n, d) float32, L2-normalised.
        corpus: (m, d) float32, L2-normalised, same d.
        k: neighbours per query, capped at m.
        index: "flat" (exact), "hnsw" or "ivf" (approximate); see `build_index`.
        progress: called with the number of queries of each chunk searched.

    Returns:
        (D, I): (n, min(k, m)) float32 similarities and int64 indices, best first.

    Example:
        >>> q = np.eye(2, dtype=np.float32); c = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> D, I = faiss_knn(q, c, k=2)
        >>> I.tolist()
        [[1, 2], [0, 2]]
    """
    q = check_vectors(queries, "queries")
    c = check_vectors(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have shape {q.shape} and corpus has shape {c.shape}: dimensions differ")
    k = min(check_k(k), c.shape[0])
    idx = build_index(c, index=index)
    I = np.empty((q.shape[0], k), dtype=np.int64)
    for start in range(0, q.shape[0], SEARCH_CHUNK):
        stop = min(start + SEARCH_CHUNK, q.shape[0])
        I[start:stop] = idx.search(q[start:stop], k)[1]
        if progress is not None:
            progress(stop - start)
    missing = np.flatnonzero((I < 0).any(axis=1))
    if missing.size:  # rare: redo those queries exactly (on CPU, memory-bounded)
        I[missing] = blocked_two_way_knn(q[missing], c, k=k).fwd_I
    D = _pair_dots(q, c, I)
    order = np.lexsort((I, -D), axis=1)
    return np.take_along_axis(D, order, axis=1), np.take_along_axis(I, order, axis=1)


def two_way_knn(
    src: np.ndarray, tgt: np.ndarray, *, k: int = 4, index: str = "flat", progress: Callable[[int], object] | None = None
) -> Neighbours:
    """k nearest neighbours by inner product in both directions, capped by the other side's size.

    `index="flat"` is exact: on CPU a single blocked pass (`blocked_two_way_knn`; about 0.5-0.8x
    the time of two FAISS IndexFlatIP searches at 20k-40k sentences, d=384, on 2 cores, see
    benchmarks/mining.py), on GPU two FAISS searches. `hnsw` and `ivf` are approximate FAISS
    indexes for millions of sentences.
    Inputs should be L2-normalised. `progress`, when given, is called with numbers of queries
    as the search advances: n sources forward and m targets backward, n + m in all.

    Example:
        >>> x = np.eye(2, dtype=np.float32); y = np.array([[0, 1], [1, 0], [0.6, 0.8]], np.float32)
        >>> nb = two_way_knn(x, y, k=2)
        >>> nb.fwd_I.tolist(), nb.bwd_I.tolist()
        ([[1, 2], [0, 2]], [[1, 0], [0, 1], [1, 0]])
    """
    x, y = check_pair(src, tgt)
    k = check_k(k)
    kind = check_choice(index, "index", INDEXES)
    if kind == "flat" and _num_gpus() == 0:
        return blocked_two_way_knn(x, y, k=k, progress=progress)
    fwd_D, fwd_I = faiss_knn(x, y, k=k, index=kind, progress=progress)
    bwd_D, bwd_I = faiss_knn(y, x, k=k, index=kind, progress=progress)
    return Neighbours(fwd_D, fwd_I, bwd_D, bwd_I)
