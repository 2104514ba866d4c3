"""Threshold search for mined pairs: the cut-off that maximises F1 against gold, and F1 at a given cut-off.

Numpy in, numpy out. Candidates are scored pairs; `correct[i]` says whether candidate i is a
gold pair. A threshold accepts every candidate whose score is >= it, so candidates with equal
scores are always accepted or refused together (a cut never splits a tie). The threshold
reported is the midpoint between the last accepted score and the next lower one (XTREME's
rule, which generalises better to another split than the last score itself); when the best
cut accepts every candidate it is the lowest score (no index error there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Operating:
    """Precision, recall and F1 (all in [0, 1]) of the candidates accepted at `threshold`."""

    threshold: float | None
    accepted: int
    true_positives: int
    precision: float
    recall: float
    f1: float


def _prf(tp: int, accepted: int, n_gold: int) -> tuple[float, float, float]:
    precision = tp / accepted if accepted else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _check(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if scores.ndim != 1 or scores.shape != correct.shape:
        raise ValueError(f"scores {scores.shape} and correct {correct.shape} must be equal 1-D shapes")
    return scores, correct


def best_threshold(scores: np.ndarray, correct: np.ndarray, *, n_gold: int) -> Operating:
    """The F1-maximising threshold over candidate `scores` (any order) given which are `correct`.

    With no correct candidate at all, nothing should be accepted: the threshold is None (no
    cut-off is meaningful; XTREME used 0 here, which makes a later split accept everything).
    Among equally good cuts, the highest threshold (fewest accepted) wins.

    Example:
        >>> op = best_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 0]), n_gold=2)
        >>> op.accepted, op.f1, round(op.threshold, 2)
        (2, 1.0, 0.75)
    """
    scores, correct = _check(scores, correct)
    if n_gold < 0:
        raise ValueError(f"n_gold must be >= 0, got {n_gold}")
    if scores.size == 0 or not correct.any():
        return Operating(None, 0, 0, 0.0, 0.0, 0.0)
    order = np.argsort(-scores, kind="stable")
    s, c = scores[order], correct[order]
    tp = np.cumsum(c)
    accepted = np.arange(1, s.size + 1)
    # A cut after position i is only possible where the next score is strictly lower.
    cut_ok = np.append(s[1:] < s[:-1], True)
    precision = tp / accepted
    recall = tp / n_gold if n_gold else np.zeros_like(precision)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = np.where(cut_ok, f1, -1.0)
    best = int(np.argmax(f1))  # first maximum = highest threshold among ties in F1
    threshold = float(s[best]) if best == s.size - 1 else float((s[best] + s[best + 1]) / 2)
    p, r, f = _prf(int(tp[best]), best + 1, n_gold)
    return Operating(threshold, best + 1, int(tp[best]), p, r, f)


def at_threshold(scores: np.ndarray, correct: np.ndarray, *, n_gold: int, threshold: float | None) -> Operating:
    """Precision, recall and F1 of the candidates with score >= `threshold` (None accepts nothing).

    Example:
        >>> op = at_threshold(np.array([0.9, 0.8, 0.3]), np.array([True, False, True]), n_gold=3, threshold=0.5)
        >>> op.accepted, op.true_positives, op.precision, round(op.f1, 4)
        (2, 1, 0.5, 0.4)
    """
    scores, correct = _check(scores, correct)
    keep = np.zeros(scores.shape, dtype=bool) if threshold is None else scores >= threshold
    tp, accepted = int((keep & correct).sum()), int(keep.sum())
    p, r, f = _prf(tp, accepted, n_gold)
    return Operating(threshold, accepted, tp, p, r, f)
