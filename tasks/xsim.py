"""xSIM and xSIM++ (LASER's multilingual similarity error rate), numpy in and numpy out.

For aligned sentence sets (query i translates candidate i): each query's candidate is the
best by margin among its k nearest candidates (`mining.best_candidates` over `knn.two_way_knn`,
exact), and an error is a candidate other than the query's own line (`by_text`: a candidate
whose text differs from the own line's text, LASER's `eval_text`). xSIM++ adds hard negatives
(synthetic near-copies of the candidates) to the candidate side only; an error that lands on
a hard negative made from the query's own sentence gets that negative's error type, any
other error is "Misaligned" (LASER's breakdown). Ties: the lower index, as everywhere here.

Example:
    >>> x = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
    >>> y = np.array([[1, 0.1], [1, 1], [0.1, 1]], np.float32)
    >>> best, score = retrieve(x, y, k=2)
    >>> best.tolist(), errors(best).tolist()
    ([0, 2, 1], [False, True, True])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xharness.tasks.knn import Neighbours, l2_normalize, two_way_knn
from xharness.tasks.mining import best_candidates, neighbour_means

MISALIGNED = "Misaligned"  # LASER's name for an error that is no listed transformation of the gold sentence


def best_from(nb: Neighbours, *, margin: str = "ratio", reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each source's best target by margin (`reverse`: each target's best source), with its score.

    One two-way neighbour search serves both directions: a pair's similarity is the same from
    either side, so LASER's second search (targets as queries) gives the same neighbours.
    """
    if reverse:
        nb = Neighbours(nb.bwd_D, nb.bwd_I, nb.fwd_D, nb.fwd_I)
    query_mean, corpus_mean = neighbour_means(nb)
    return best_candidates(nb.fwd_D, nb.fwd_I, query_mean, corpus_mean, margin=margin)


def retrieve(queries: np.ndarray, candidates: np.ndarray, *, k: int = 4, margin: str = "ratio") -> tuple[np.ndarray, np.ndarray]:
    """`(best, score)`: each query's retrieved candidate index and its margin score (inputs L2-normalised here)."""
    return best_from(two_way_knn(l2_normalize(queries), l2_normalize(candidates), k=k), margin=margin)


def errors(best: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
    """Bool per query: query i retrieved something other than candidate i (by index, or by text when `texts` are the candidates')."""
    best = np.asarray(best)
    if texts is None:
        return best != np.arange(best.size)
    return np.array([texts[int(j)] != texts[i] for i, j in enumerate(best.tolist())], dtype=bool)


def error_types(
    wrong: np.ndarray, best: np.ndarray, texts: Sequence[str], hard_negatives: Mapping[str, tuple[str, str]]
) -> list[str]:
    """Per query: "" when right; else the error type of the retrieved hard negative when it was made
    from the query's own sentence, and `MISALIGNED` otherwise (texts compared without edge whitespace).

    `texts` are the candidates (originals, then hard negatives); `hard_negatives` maps a hard
    negative's text to `(original sentence, error type)`.
    """
    out = []
    for i, (bad, j) in enumerate(zip(wrong.tolist(), np.asarray(best).tolist())):
        if not bad:
            out.append("")
            continue
        entry = hard_negatives.get(texts[j].strip())
        out.append(entry[1] if entry is not None and entry[0] == texts[i].strip() else MISALIGNED)
    return out


def xsim_matrix(
    vectors: Sequence[np.ndarray], texts: Sequence[Sequence[str]] | None = None, *, k: int = 4, margin: str = "ratio"
) -> tuple[np.ndarray, list[np.ndarray]]:
    """All ordered pairs of N aligned sets: `(rates, shares)`.

    `rates[a, b]` is the xSIM error rate x100 with set a as queries and set b as candidates
    (NaN on the diagonal); `shares[a][i]` is the share of the other sets in which query i of
    set a was missed, so `shares[a].mean() * 100` is row a's average. One neighbour search
    per unordered pair gives both directions.
    """
    unit = [l2_normalize(v) for v in vectors]
    n_sets = len(unit)
    rates = np.full((n_sets, n_sets), np.nan)
    missed = [np.zeros(v.shape[0]) for v in unit]
    for a in range(n_sets):
        for b in range(a + 1, n_sets):
            nb = two_way_knn(unit[a], unit[b], k=k)
            for src, tgt, reverse in ((a, b, False), (b, a, True)):
                best, _ = best_from(nb, margin=margin, reverse=reverse)
                wrong = errors(best, None if texts is None else texts[tgt])
                rates[src, tgt] = 100.0 * wrong.mean()
                missed[src] += wrong
    shares = [m / max(n_sets - 1, 1) for m in missed]
    return rates, shares
