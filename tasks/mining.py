"""Margin-based bitext mining in one call (Artetxe & Schwenk 2019; the algorithm of LASER's `mine_bitexts`).

`mine`, which a task (BUCC, a generic bitext probe, `xharness mine`) wraps: L2-normalise, two-way
kNN (`knn.py`), margin scores and candidate selection (`margins.py`, whose definitions and tie
rules hold here), threshold, and LASER's `--unify` de-duplication (`unique_lines`). The margin
building blocks are re-exported, so `from xharness.tasks.mining import candidates` keeps working.
Nothing here reads files, prints or keeps state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable

import numpy as np

from xharness.tasks.knn import INDEXES, Neighbours, check_choice, check_k, check_pair, l2_normalize, two_way_knn
from xharness.tasks.margins import (
    MARGINS,
    RETRIEVALS,
    MarginKind,
    Retrieval,
    apply_margin,
    best_candidates,
    candidates,
    greedy_one_to_one,
    margin_rescore,
    neighbour_means,
)

__all__ = [
    "INDEXES", "MARGINS", "RETRIEVALS", "MarginKind", "Neighbours", "Retrieval", "apply_margin", "best_candidates",
    "candidates", "greedy_one_to_one", "margin_rescore", "mine", "neighbour_means", "two_way_knn", "unique_lines",
]


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
    record: dict | None = None,
    progress: Callable[[int], object] | None = None,
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
        record: when given, receives what a result must record about the search: with an
            approximate index, `index_recall` (`recall.two_way_recall`: recall@k against exact search).
        progress: called with numbers of queries as the two-way search advances: every
            source forward and every target backward (distinct texts with `unify`), n + m in all.

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
    k = check_k(k)
    check_choice(margin, "margin", MARGINS)
    check_choice(retrieval, "retrieval", RETRIEVALS)
    check_choice(index, "index", INDEXES)
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
            raise TypeError(f"threshold must be a number or None, got {type(threshold).__name__}")
        if math.isnan(threshold):
            raise ValueError("threshold is NaN")
    x, y = check_pair(src, tgt)
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
    nb = two_way_knn(x, y, k=k, index=index, progress=progress)
    if record is not None and index != "flat":
        from xharness.tasks.recall import two_way_recall

        record["index_recall"] = two_way_recall(x, y, nb, index=index)
    s, t, sc = candidates(nb, margin=margin, retrieval=retrieval)
    if threshold is not None:
        keep = sc >= threshold
        s, t, sc = s[keep], t[keep], sc[keep]
    if unify:
        s, t, sc = _expand_unified(s, t, sc, src_inverse, tgt_inverse)
    return s, t, sc

