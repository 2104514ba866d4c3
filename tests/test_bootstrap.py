"""The paired bootstrap against cases that can be worked out by hand."""

import math

import numpy as np
import pytest

from xharness.leaderboard.bootstrap import (
    paired_bootstrap,
    percentile_interval,
    resampled_deltas,
    statistic,
)


def test_identical_runs_give_zero_delta_and_a_zero_interval():
    outcomes = np.random.default_rng(3).integers(0, 2, size=500)
    r = paired_bootstrap(outcomes, outcomes.copy(), n_resamples=2000, seed=1)
    assert (r.delta, r.low, r.high) == (0.0, 0.0, 0.0)
    assert not r.significant
    assert r.score_a == r.score_b == pytest.approx(100 * outcomes.mean())


def test_right_on_every_item_the_other_is_wrong_on():
    # B is right exactly where A is wrong, and A is wrong everywhere: every resample gives +100.
    a = np.zeros(50)
    r = paired_bootstrap(a, 1 - a, n_resamples=1000, seed=0)
    assert (r.score_a, r.score_b, r.delta, r.low, r.high) == (0.0, 100.0, 100.0, 100.0, 100.0)
    assert r.significant
    # The reverse direction is the mirror image.
    r = paired_bootstrap(1 - a, a, n_resamples=1000, seed=0)
    assert (r.delta, r.low, r.high) == (-100.0, -100.0, -100.0)


def test_complementary_halves_match_the_binomial_interval():
    # A right on the first half, B on the second: each resampled item moves the delta by +-1/n,
    # so delta = 100 * (2K/n - 1) with K ~ Binomial(n, 1/2); its 95% interval is about +-1.96 * 100/sqrt(n).
    n = 400
    a = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    r = paired_bootstrap(a, 1 - a, n_resamples=20_000, seed=7)
    assert r.delta == 0.0
    half_width = 1.96 * 100 / math.sqrt(n)  # 9.8 points
    assert r.low == pytest.approx(-half_width, abs=1.0)
    assert r.high == pytest.approx(half_width, abs=1.0)
    assert not r.significant


def test_resampling_is_paired():
    # Shared items cancel: B equals A plus one extra right item out of 1000, so every
    # resampled delta is a whole number of extra items (a multiple of 0.1 point) and >= 0.
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=1000).astype(float)
    b = a.copy()
    b[np.flatnonzero(a == 0)[0]] = 1
    deltas = resampled_deltas(a, b, n_resamples=3000, seed=2)
    assert (deltas >= 0).all()
    assert np.allclose(deltas * 10, np.round(deltas * 10))
    # Unpaired resampling would spread the delta over +-4 points; paired stays within a point.
    assert deltas.max() <= 1.0


def test_a_fixed_seed_gives_the_same_interval():
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 2, size=300), rng.integers(0, 2, size=300)
    first = paired_bootstrap(a, b, n_resamples=500, seed=11)
    assert paired_bootstrap(a, b, n_resamples=500, seed=11) == first
    assert paired_bootstrap(a, b, n_resamples=500, seed=12) != first
    assert paired_bootstrap(a, b, n_resamples=500, seed=[11, 4]) == paired_bootstrap(a, b, n_resamples=500, seed=[11, 4])


def test_blocks_do_not_change_the_stream_length():
    # More resamples than one block holds for a large item count still gives n_resamples values.
    a = np.zeros(30_000)
    deltas = resampled_deltas(a, a, n_resamples=150, seed=0)
    assert deltas.shape == (150,) and not deltas.any()


def test_fraction_per_item_values():
    # An item's share of seeds that got it right counts as that fraction.
    assert statistic([1.0, 0.5, 0.0, 0.5]) == 50.0


def test_f1_statistic_by_hand():
    # Units [is_gold, accepted]: 2 TP, 1 FP, 1 FN -> F1 = 2*2 / (2*2 + 1 + 1) = 2/3.
    units = [[1, 1], [1, 1], [0, 1], [1, 0]]
    assert statistic(units, metric="f1") == pytest.approx(200 / 3)
    # Nothing gold and nothing accepted: F1 is 0, not a division by zero.
    assert statistic([[0, 0]], metric="f1") == 0.0


def test_f1_identical_and_opposite_runs():
    units = np.array([[1, 1], [1, 0], [0, 1], [1, 1]])
    r = paired_bootstrap(units, units, n_resamples=500, seed=0, metric="f1")
    assert (r.delta, r.low, r.high) == (0.0, 0.0, 0.0)
    # A accepts exactly the gold pairs, B accepts exactly the non-gold ones: F1 100 vs 0 in every resample
    # that holds both kinds (and 100 vs 0 or 0 vs 0 otherwise); never in B's favour.
    gold = np.array([1, 1, 1, 0, 0, 0])
    a = np.stack([gold, gold], axis=1)
    b = np.stack([gold, 1 - gold], axis=1)
    r = paired_bootstrap(a, b, n_resamples=2000, seed=0, metric="f1")
    assert (r.score_a, r.score_b, r.delta) == (100.0, 0.0, -100.0)
    assert r.high <= 0 and r.low == -100.0


@pytest.mark.parametrize(
    "a, b, kwargs, message",
    [
        ([1, 0], [1, 0, 1], {}, "same shape"),
        ([[1, 0]], [[1, 0]], {}, "1-D"),
        ([], [], {}, "no items"),
        ([1, np.nan], [1, 0], {}, "finite"),
        ([1, 0], [1, 0], {"metric": "median"}, "metric must be"),
        ([1, 0], [1, 0], {"metric": "f1"}, r"\(n, 2\)"),
        ([[1, 1]], [[0, 1]], {"metric": "f1"}, "is_gold column"),
        ([[2, 1]], [[2, 1]], {"metric": "f1"}, "0/1"),
        ([1, 0], [1, 0], {"n_resamples": 0}, "n_resamples"),
    ],
)
def test_bad_inputs_raise_with_the_shapes(a, b, kwargs, message):
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(a, b, **kwargs)


def test_percentile_interval_checks():
    assert percentile_interval([1.0, 2.0, 3.0, 4.0, 5.0], confidence=0.5) == (2.0, 4.0)
    with pytest.raises(ValueError, match="confidence"):
        percentile_interval([1.0], confidence=1.0)
    with pytest.raises(ValueError, match="non-empty"):
        percentile_interval([], confidence=0.9)
