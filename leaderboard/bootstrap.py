"""Paired bootstrap confidence intervals for the difference between two runs on the same items.

Numpy in, numpy out, no hidden state. Both runs' per-item outcomes are resampled together
(the same resampled item indices for A and B), so what two runs share cancels out and only
their disagreements move the interval. Two statistics are supported:

- ``"mean"``: one value per item (0/1 correctness, or a fraction such as the share of probe
  seeds that got the item right); the statistic is ``scale * mean`` (accuracy x100).
- ``"f1"``: one unit per row of an ``(n, 2)`` array ``[is_gold, accepted]``, for mined pairs
  (BUCC). The units are the gold pairs together with every pair that either run accepted;
  the statistic is ``scale * 2TP / (2TP + FP + FN)``. Pairs that are neither gold nor accepted
  by either run cannot change F1 and are left out (they have no natural population to count).

The interval is the percentile interval of the resampled differences ``B - A``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

METRICS = ("mean", "f1")
# How many resampled indices one block may hold: bounds memory for big BUCC unit sets.
_BLOCK_CELLS = 2_000_000


@dataclass(frozen=True)
class BootstrapResult:
    """Scores of A and B, their difference B - A, and its bootstrap interval (all on `scale`)."""

    score_a: float
    score_b: float
    delta: float
    low: float
    high: float
    confidence: float
    n_items: int
    n_resamples: int
    metric: str

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict:
        return {
            "score_a": self.score_a,
            "score_b": self.score_b,
            "delta": self.delta,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "significant": self.significant,
            "n_items": self.n_items,
            "n_resamples": self.n_resamples,
            "metric": self.metric,
        }


def _check(a: object, b: object, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a {a.shape} and b {b.shape} must have the same shape (the same items, in the same order)")
    if metric == "mean" and a.ndim != 1:
        raise ValueError(f"metric 'mean' takes 1-D per-item values, got shape {a.shape}")
    if metric == "f1":
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"metric 'f1' takes (n, 2) rows of [is_gold, accepted], got shape {a.shape}")
        if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
            raise ValueError("metric 'f1' takes 0/1 flags")
        if not np.array_equal(a[:, 0], b[:, 0]):
            raise ValueError("metric 'f1': the is_gold column must be the same for a and b (paired units)")
    if a.shape[0] == 0:
        raise ValueError("no items to resample")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("per-item values must be finite")
    return a, b


def _f1_counts(x: np.ndarray) -> np.ndarray:
    """(n, 3) per-unit [tp, fp, fn] for rows of [is_gold, accepted]."""
    gold, accepted = x[:, 0], x[:, 1]
    return np.stack([gold * accepted, (1 - gold) * accepted, gold * (1 - accepted)], axis=1)


def _f1_from_sums(sums: np.ndarray) -> np.ndarray:
    """F1 from summed [tp, fp, fn] along the last axis (0 where nothing is gold or accepted)."""
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


def statistic(x: object, *, metric: str = "mean", scale: float = 100.0) -> float:
    """The metric of one run's per-item outcomes (accuracy x100 or F1 x100 by default).

    Example:
        >>> statistic([1, 0, 1, 1])
        75.0
        >>> statistic([[1, 1], [1, 0], [0, 1]], metric="f1")
        50.0
    """
    arr, _ = _check(x, x, metric)
    if metric == "mean":
        return float(scale * arr.mean())
    return float(scale * _f1_from_sums(_f1_counts(arr).sum(axis=0)))


def resampled_deltas(
    a: object,
    b: object,
    *,
    n_resamples: int = 10_000,
    seed: int | Sequence[int] = 0,
    metric: str = "mean",
    scale: float = 100.0,
) -> np.ndarray:
    """`n_resamples` bootstrap replicates of statistic(B) - statistic(A), items resampled together.

    Deterministic for a given seed (an int or a sequence of ints, as `numpy.random.default_rng` takes).
    """
    a, b = _check(a, b, metric)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    n = a.shape[0]
    block = max(1, _BLOCK_CELLS // n)
    out = np.empty(n_resamples, dtype=np.float64)
    if metric == "mean":
        diff = b - a
        for start in range(0, n_resamples, block):
            rows = min(block, n_resamples - start)
            idx = rng.integers(0, n, size=(rows, n))
            out[start:start + rows] = scale * diff[idx].mean(axis=1)
        return out
    counts_a, counts_b = _f1_counts(a), _f1_counts(b)
    for start in range(0, n_resamples, block):
        rows = min(block, n_resamples - start)
        idx = rng.integers(0, n, size=(rows, n))
        sums_a = np.stack([counts_a[:, j][idx].sum(axis=1) for j in range(3)], axis=-1)
        sums_b = np.stack([counts_b[:, j][idx].sum(axis=1) for j in range(3)], axis=-1)
        out[start:start + rows] = scale * (_f1_from_sums(sums_b) - _f1_from_sums(sums_a))
    return out


def percentile_interval(deltas: object, *, confidence: float = 0.95) -> tuple[float, float]:
    """The central `confidence` share of the replicates: (low, high) percentiles.

    Example:
        >>> [round(v, 6) for v in percentile_interval(np.arange(101.0), confidence=0.9)]
        [5.0, 95.0]
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    deltas = np.asarray(deltas, dtype=np.float64)
    if deltas.ndim != 1 or deltas.size == 0:
        raise ValueError(f"deltas must be a non-empty 1-D array, got shape {deltas.shape}")
    tail = (1 - confidence) / 2
    low, high = np.quantile(deltas, [tail, 1 - tail])
    return float(low), float(high)


def paired_bootstrap(
    a: object,
    b: object,
    *,
    n_resamples: int = 10_000,
    seed: int | Sequence[int] = 0,
    metric: str = "mean",
    confidence: float = 0.95,
    scale: float = 100.0,
) -> BootstrapResult:
    """Scores of two runs on the same items, their difference B - A and its paired bootstrap interval.

    Example:
        >>> r = paired_bootstrap([1, 1, 0, 0], [1, 1, 0, 0])
        >>> r.delta, r.low, r.high, r.significant
        (0.0, 0.0, 0.0, False)
        >>> r = paired_bootstrap([0, 0, 0, 0], [1, 1, 1, 1])
        >>> r.delta, r.low, r.high, r.significant
        (100.0, 100.0, 100.0, True)
    """
    deltas = resampled_deltas(a, b, n_resamples=n_resamples, seed=seed, metric=metric, scale=scale)
    low, high = percentile_interval(deltas, confidence=confidence)
    score_a = statistic(a, metric=metric, scale=scale)
    score_b = statistic(b, metric=metric, scale=scale)
    return BootstrapResult(
        score_a=score_a,
        score_b=score_b,
        delta=score_b - score_a,
        low=low,
        high=high,
        confidence=confidence,
        n_items=int(np.asarray(a).shape[0]),
        n_resamples=n_resamples,
        metric=metric,
    )
