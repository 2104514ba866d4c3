"""P-values from bootstrap replicates and the Holm / Benjamini-Hochberg adjustments, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xharness.leaderboard.adjust import adjust_p_values, benjamini_hochberg, bootstrap_p_value, holm

# Four p-values, worked by hand (m = 4; sorted: 0.005, 0.01, 0.03, 0.04).
P = [0.01, 0.04, 0.03, 0.005]
# Holm: 4 x 0.005 = 0.02; 3 x 0.01 = 0.03; 2 x 0.03 = 0.06; 1 x 0.04 = 0.04 -> running max 0.06.
HOLM = [0.03, 0.06, 0.06, 0.02]
# BH: 0.005 x 4/1 = 0.02; 0.01 x 4/2 = 0.02; 0.03 x 4/3 = 0.04; 0.04 x 4/4 = 0.04 -> running min from the top.
BH = [0.02, 0.04, 0.04, 0.02]


def test_holm_by_hand():
    assert holm(P) == pytest.approx(HOLM)


def test_bh_by_hand():
    assert benjamini_hochberg(P) == pytest.approx(BH)


def test_dispatch_and_none():
    assert adjust_p_values(P, "holm") == pytest.approx(HOLM)
    assert adjust_p_values(P, "bh") == pytest.approx(BH)
    assert adjust_p_values(P, "none").tolist() == P
    with pytest.raises(ValueError, match="method must be one of holm, bh, none"):
        adjust_p_values(P, "bonferroni")


def test_caps_at_one_ties_and_a_single_test():
    # Holm: 3 x 0.4 = 1.2 -> 1; the tie at 0.4 keeps the input order and the running max.
    assert holm([0.4, 0.4, 0.9]).tolist() == [1.0, 1.0, 1.0]
    # BH: 0.02 x 3/1 = 0.06; 0.02 x 3/2 = 0.03; 0.5 x 3/3 = 0.5 -> [0.03, 0.03, 0.5].
    assert benjamini_hochberg([0.02, 0.5, 0.02]) == pytest.approx([0.03, 0.5, 0.03])
    assert holm([0.2]).tolist() == [0.2] and benjamini_hochberg([0.2]).tolist() == [0.2]
    assert holm([]).size == 0 and benjamini_hochberg([]).size == 0


@pytest.mark.parametrize("bad", [[1.5], [-0.1], [float("nan")], [[0.1, 0.2]]])
def test_rejects_non_p_values(bad):
    with pytest.raises(ValueError):
        holm(bad)


def test_bootstrap_p_value_by_hand():
    # B = 9: three replicates <= 0 (one is exactly 0), seven >= 0: 2 * (3 + 1) / (9 + 1) = 0.8.
    assert bootstrap_p_value([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == pytest.approx(0.8)
    # Every replicate above zero: the smallest p that 999 replicates can give, 2 / 1000.
    assert bootstrap_p_value([0.5] * 999) == pytest.approx(0.002)
    assert bootstrap_p_value([-0.5] * 999) == pytest.approx(0.002)
    # Identical runs: every replicate is 0, in both tails.
    assert bootstrap_p_value(np.zeros(100)) == 1.0
    with pytest.raises(ValueError):
        bootstrap_p_value([])
    with pytest.raises(ValueError):
        bootstrap_p_value([[1.0]])


def test_p_value_agrees_with_the_percentile_interval_away_from_the_boundary():
    from xharness.leaderboard.bootstrap import percentile_interval, resampled_deltas

    rng = np.random.default_rng(3)
    for shift in (0.0, 0.05, 0.1, 0.2, 0.3):
        a = (rng.random(200) < 0.5).astype(float)
        b = np.where(rng.random(200) < shift, 1.0, a)
        d = resampled_deltas(a, b, n_resamples=4000, seed=1)
        low, high = percentile_interval(d, confidence=0.95)
        p = bootstrap_p_value(d)
        if abs(p - 0.05) > 0.01:
            assert (low > 0 or high < 0) == (p <= 0.05), (shift, low, high, p)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_adjustments_never_lower_a_p_value_and_holm_is_the_stricter(ps):
    h, q = holm(ps), benjamini_hochberg(ps)
    raw = np.asarray(ps)
    assert (h >= raw - 1e-12).all() and (q >= raw - 1e-12).all()
    assert (h >= q - 1e-12).all()
    assert ((h <= 1) & (q <= 1)).all()
    # Rank order is kept: a smaller raw p never gets a larger adjusted p than a bigger one.
    order = np.argsort(raw, kind="stable")
    assert (np.diff(h[order]) >= -1e-12).all() and (np.diff(q[order]) >= -1e-12).all()
