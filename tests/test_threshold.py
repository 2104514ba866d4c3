"""The F1 threshold sweep: hand-worked cases (ties, the last candidate, nothing correct) and brute force."""

import numpy as np
import pytest

from xharness.tasks.threshold import at_threshold, best_threshold


def test_best_cut_in_the_middle():
    # Accepting the top 2 gives P=1, R=1: F1 = 1; the threshold is the midpoint of 0.8 and 0.7.
    op = best_threshold(np.array([0.7, 0.9, 0.6, 0.8]), np.array([0, 1, 0, 1]), n_gold=2)
    assert (op.accepted, op.true_positives, op.f1) == (2, 2, 1.0)
    assert op.threshold == pytest.approx(0.75)


def test_best_cut_is_the_last_candidate():
    # All four: P=3/4, R=3/3 -> F1 = 6/7, better than the top 2 (P=1, R=2/3 -> F1 = 0.8).
    op = best_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 1]), n_gold=3)
    assert op.accepted == 4 and op.f1 == pytest.approx(6 / 7)
    assert op.threshold == pytest.approx(0.6)  # the last score itself: nothing below to average with


def test_ties_are_never_split():
    # Scores 0.8 tie between a right and a wrong candidate: the cut takes both or neither.
    scores = np.array([0.9, 0.8, 0.8, 0.5])
    correct = np.array([1, 1, 0, 0])
    op = best_threshold(scores, correct, n_gold=2)
    # top 1: P=1 R=.5 F1=.667; top 3: P=2/3 R=1 F1=.8 -> 3 accepted
    assert op.accepted == 3 and op.f1 == pytest.approx(0.8)
    assert at_threshold(scores, correct, n_gold=2, threshold=op.threshold).accepted == 3


def test_nothing_correct_accepts_nothing():
    op = best_threshold(np.array([0.9, 0.8]), np.array([0, 0]), n_gold=5)
    assert op.threshold is None and op.f1 == 0.0
    applied = at_threshold(np.array([0.95, 0.1]), np.array([1, 0]), n_gold=1, threshold=None)
    assert applied.accepted == 0 and applied.f1 == 0.0


def test_at_threshold_by_hand():
    op = at_threshold(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1]), n_gold=4, threshold=0.75)
    assert (op.accepted, op.true_positives) == (2, 1)
    assert op.precision == 0.5 and op.recall == 0.25 and op.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_matches_brute_force_over_every_threshold():
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(1, 60))
        scores = np.round(rng.random(n), 1)  # rounding makes ties common
        correct = rng.random(n) < 0.4
        n_gold = int(correct.sum() + rng.integers(0, 5))
        op = best_threshold(scores, correct, n_gold=n_gold)
        best_f1 = 0.0
        for t in np.unique(scores):
            keep = scores >= t
            tp = int((keep & correct).sum())
            p, r = tp / keep.sum(), (tp / n_gold if n_gold else 0.0)
            best_f1 = max(best_f1, 2 * p * r / (p + r) if p + r else 0.0)
        assert op.f1 == pytest.approx(best_f1)
        if op.threshold is not None:
            assert at_threshold(scores, correct, n_gold=n_gold, threshold=op.threshold).f1 == pytest.approx(op.f1)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        best_threshold(np.zeros(2), np.zeros(3), n_gold=1)
