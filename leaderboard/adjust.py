"""P-values from paired bootstrap replicates, and their adjustment for many tests at once.

Numpy in, numpy out, no hidden state.

The p-value of a bootstrapped difference (``bootstrap_p_value``) is the two-sided percentile
p-value: with ``B`` replicates ``d*`` of the difference,

    p = min(1, 2 * min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1))

that is, twice the smaller tail share of the replicates on the far side of zero, with the
usual +1 correction (Davison & Hinkley 1997, sec. 4.4; North, Curtis & Sham 2002), which
counts the observed sample as one of the resamples. It is the inversion of the percentile
interval the reports print: the (1 - alpha) interval excludes zero essentially exactly when
p <= alpha (the +1 correction and the quantile interpolation can move the boundary by one
replicate). Replicates equal to zero count in both tails, so two identical runs get p = 1.
The smallest p that B replicates can give is 2 / (B + 1) (about 0.0002 for 10,000), which
bounds what an adjustment over m tests can declare: Holm needs 2m / (B + 1) <= alpha.

Adjustments (``adjust_p_values``) take the p-values of one family of tests and return
adjusted p-values in the same order; a test is significant when its adjusted p <= alpha:

- ``"holm"``: Holm-Bonferroni (Holm 1979), controls the family-wise error rate. Sorted
  ascending, ``p_adj(i) = max_{j <= i} min(1, (m - j + 1) * p(j))``.
- ``"bh"``: Benjamini-Hochberg (1995), controls the false discovery rate for independent
  (or positively dependent) tests. ``p_adj(i) = min_{j >= i} min(1, m / j * p(j))``.
- ``"none"``: the p-values unchanged.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

METHODS = ("holm", "bh", "none")
LABELS = {
    "holm": "Holm-Bonferroni (family-wise error rate)",
    "bh": "Benjamini-Hochberg (false discovery rate)",
    "none": "no adjustment",
}


def bootstrap_p_value(deltas: object) -> float:
    """Two-sided p-value of 'the difference is zero' from its bootstrap replicates (see the module docstring).

    Example:
        >>> bootstrap_p_value([0.0, 0.0, 0.0])
        1.0
        >>> round(bootstrap_p_value([1.0, 2.0, 3.0, -1.0]), 6)  # 2 * (1 + 1) / (4 + 1)
        0.8
        >>> round(bootstrap_p_value([5.0] * 999), 6)  # every replicate above zero: 2 / (999 + 1)
        0.002
    """
    d = np.asarray(deltas, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"deltas must be a non-empty 1-D array, got shape {d.shape}")
    if not np.isfinite(d).all():
        raise ValueError("deltas must be finite")
    below = int(np.count_nonzero(d <= 0))
    above = int(np.count_nonzero(d >= 0))
    return float(min(1.0, 2.0 * (min(below, above) + 1) / (d.size + 1)))


def _check_p(p_values: object) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p-values must be a 1-D array, got shape {p.shape}")
    if not np.isfinite(p).all() or ((p < 0) | (p > 1)).any():
        raise ValueError("p-values must be finite numbers between 0 and 1")
    return p


def holm(p_values: object) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order.

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005]).round(6).tolist()
        [0.03, 0.06, 0.06, 0.02]
    """
    p = _check_p(p_values)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def benjamini_hochberg(p_values: object) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    Example:
        >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005]).round(6).tolist()
        [0.02, 0.04, 0.04, 0.02]
    """
    p = _check_p(p_values)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, p[order] * m / np.arange(1, m + 1))
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return adjusted


def adjust_p_values(p_values: Sequence[float] | np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family of tests by `method` ('holm', 'bh' or 'none').

    Example:
        >>> adjust_p_values([0.01, 0.04, 0.03], "holm").tolist(), adjust_p_values([0.01, 0.04, 0.03], "bh").tolist()
        ([0.03, 0.06, 0.06], [0.03, 0.04, 0.04])
    """
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "none":
        return _check_p(p_values).copy()
    raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
