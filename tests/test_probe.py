"""The classification probe's maths: features, sampling, C selection, metrics (all hand-checked)."""

import numpy as np
import pytest

from xharness.tasks.probe import (
    C_GRID,
    DEFAULT_C,
    Scaler,
    _fit_path,
    accuracy,
    macro_f1,
    mean_std,
    pair_features,
    sample_per_label,
    train_probe,
)


def blobs(centres, n_per, *, spread=0.3, seed=0):
    """Gaussian blobs around `centres` (one label per centre, named 'c0', 'c1', ...)."""
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float64)
    x = np.concatenate([c + spread * rng.standard_normal((n_per, centres.shape[1])) for c in centres])
    y = np.repeat([f"c{i}" for i in range(len(centres))], n_per)
    return x.astype(np.float32), y


def rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Features and sampling.


def test_pair_features_by_hand():
    u = np.array([[1.0, -2.0], [0.5, 0.0]])
    v = np.array([[3.0, 2.0], [0.5, 4.0]])
    f = pair_features(u, v)
    assert f.shape == (2, 8) and f.dtype == np.float32
    assert f[0].tolist() == [1.0, -2.0, 3.0, 2.0, 2.0, 4.0, 3.0, -4.0]
    assert f[1].tolist() == [0.5, 0.0, 0.5, 4.0, 0.0, 4.0, 0.25, 0.0]


@pytest.mark.parametrize(
    "u, v, error",
    [
        (np.zeros((2, 3)), np.zeros((2, 4)), ValueError),
        (np.zeros((2, 3)), np.zeros((3, 3)), ValueError),
        (np.zeros(3), np.zeros(3), ValueError),
        (np.array([["a"]]), np.array([["b"]]), TypeError),
    ],
)
def test_pair_features_checks_shapes(u, v, error):
    with pytest.raises(error):
        pair_features(u, v)


def test_sample_per_label_spreads_evenly_and_refills():
    y = np.array(["a"] * 6 + ["b"] * 2 + ["c"] * 10)
    idx = sample_per_label(y, 9, seed=0)
    # Even share 3 each; 'b' has only 2, so its spare item goes to 'a' (the first open label).
    assert sorted(y[idx].tolist()) == ["a"] * 4 + ["b"] * 2 + ["c"] * 3
    assert idx.tolist() == sorted(set(idx.tolist()))
    assert sample_per_label(y, None, seed=3).tolist() == list(range(18))
    assert sample_per_label(y, 100, seed=3).tolist() == list(range(18))
    with pytest.raises(ValueError, match="one item of each of the 3 labels"):
        sample_per_label(y, 2, seed=0)


def test_seeds_change_the_sample_not_its_size_or_label_mix():
    y = np.array(["a"] * 50 + ["b"] * 50)
    samples = [sample_per_label(y, 20, seed=s) for s in range(5)]
    assert all(s.size == 20 and (y[s] == "a").sum() == 10 for s in samples)
    assert len({tuple(s.tolist()) for s in samples}) == 5
    assert sample_per_label(y, 20, seed=2).tolist() == samples[2].tolist()  # same seed, same sample


# ---------------------------------------------------------------------------------------------
# Metrics.


def test_accuracy_and_macro_f1_by_hand():
    gold = np.array(["a", "b", "b", "c", "c"])
    pred = np.array(["a", "a", "b", "b", "c"])
    assert accuracy(pred, gold) == pytest.approx(3 / 5)
    # a: TP 1 FP 1 FN 0 -> 2/3; b: TP 1 FP 1 FN 1 -> 1/2; c: TP 1 FP 0 FN 1 -> 2/3.
    assert macro_f1(pred, gold) == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)


def test_macro_f1_averages_over_gold_labels_only():
    gold = np.array(["a", "b"])
    pred = np.array(["a", "x"])  # 'x' is never gold: it costs 'b' its recall, but is not averaged
    assert macro_f1(pred, gold) == pytest.approx((1.0 + 0.0) / 2)
    assert macro_f1(pred, gold, labels=["a", "b", "x"]) == pytest.approx(1 / 3)


def test_macro_f1_matches_scikit_learn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    gold = rng.choice(list("abcd"), size=200)
    pred = rng.choice(list("abcd"), size=200)
    assert macro_f1(pred, gold) == pytest.approx(f1_score(gold, pred, average="macro"))


def test_metric_shape_checks():
    with pytest.raises(ValueError, match="3 entries"):
        accuracy(np.array([1, 2, 3]), np.array([1, 2]))
    with pytest.raises(ValueError, match="empty"):
        macro_f1(np.array([]), np.array([]))


def test_mean_std_is_the_sample_std():
    mean, std = mean_std([1.0, 3.0])
    assert mean == 2.0 and std == pytest.approx(np.sqrt(2.0))
    assert mean_std([5.0]) == (5.0, 0.0)


def test_scaler_uses_training_statistics_and_spares_constant_features():
    x = np.array([[1.0, 7.0], [3.0, 7.0]], dtype=np.float32)
    scaler = Scaler.fit(x)
    assert scaler.transform(x).tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert scaler.transform(np.array([[5.0, 8.0]])).tolist() == [[3.0, 1.0]]


# ---------------------------------------------------------------------------------------------
# The probe.


def test_linearly_separable_embeddings_are_classified_perfectly():
    x, y = blobs([[0, 0, 0, 4], [4, 0, 0, 0], [0, 4, 0, 0]], 30)
    x_test, y_test = blobs([[0, 0, 0, 4], [4, 0, 0, 0], [0, 4, 0, 0]], 20, seed=1)
    probe = train_probe(x, y, seed=0)
    assert probe.selection == "cv" and set(probe.c_scores) == set(C_GRID)
    assert accuracy(probe.predict(x_test), y_test) == 1.0
    assert macro_f1(probe.predict(x_test), y_test) == 1.0


def test_rotated_copies_of_english_lose_accuracy_with_the_angle():
    # Two topics on either side of the y-axis. A language that is English rotated by theta keeps
    # its structure but not its place: a small turn keeps every point on its side of the English
    # boundary, at 90 degrees the classes lie along the boundary, at 180 on the wrong sides.
    x, y = blobs([[-2.0, 0.0], [2.0, 0.0]], 40, spread=0.4)
    x_test, y_test = blobs([[-2.0, 0.0], [2.0, 0.0]], 40, spread=0.4, seed=1)
    probe = train_probe(x, y, seed=0)
    angles = (0, 30, 60, 90, 120, 150, 180)
    scores = [accuracy(probe.predict(x_test @ rotation(np.radians(deg)).T), y_test) for deg in angles]
    assert scores[0] == 1.0 and scores[1] == 1.0
    assert scores == sorted(scores, reverse=True)  # the further from English, the worse
    assert scores[3] < 1.0 and scores[-1] == 0.0


def dev_case():
    """Noisy overlapping data where the C values disagree on some dev points."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((60, 5)).astype(np.float32)
    y = np.where(x[:, 0] + 0.8 * rng.standard_normal(60) > 0.6, "pos", "neg")
    x_dev = rng.standard_normal((80, 5)).astype(np.float32)
    scaler = Scaler.fit(x)
    fits = _fit_path(scaler.transform(x), y, C_GRID, 1000)
    preds = {c: model.predict(scaler.transform(x_dev)) for c, (model, _) in fits.items()}
    return x, y, x_dev, preds


def test_c_is_chosen_on_dev():
    x, y, x_dev, preds = dev_case()
    target = 0.1
    assert all((preds[c] != preds[target]).any() for c in C_GRID if c != target)  # the case is informative
    probe = train_probe(x, y, dev=(x_dev, preds[target]), seed=0)
    assert probe.selection == "dev" and probe.c == target
    assert probe.c_scores[target] == 1.0 and max(v for c, v in probe.c_scores.items() if c != target) < 1.0
    assert probe.predict(x_dev).tolist() == preds[target].tolist()


def test_dev_ties_go_to_the_stronger_regularisation():
    x, y = blobs([[-3.0, 0.0], [3.0, 0.0]], 20)
    x_dev, y_dev = blobs([[-3.0, 0.0], [3.0, 0.0]], 10, seed=2)
    probe = train_probe(x, y, dev=(x_dev, y_dev))
    assert set(probe.c_scores.values()) == {1.0} and probe.c == min(C_GRID)


def test_without_enough_items_for_cv_c_is_fixed():
    x = np.array([[0.0], [0.1], [0.2], [5.0]], dtype=np.float32)
    y = np.array(["a", "a", "a", "b"])  # 'b' has one item: no stratified fold can hold it twice
    probe = train_probe(x, y)
    assert probe.selection == "fixed" and probe.c == DEFAULT_C


def test_probe_input_checks():
    with pytest.raises(ValueError, match="two labels"):
        train_probe(np.zeros((3, 2)), np.array(["a", "a", "a"]))
    with pytest.raises(ValueError, match="2 entries but the features have 3"):
        train_probe(np.zeros((3, 2)), np.array(["a", "b"]))
    with pytest.raises(ValueError, match="positive"):
        train_probe(np.eye(2), np.array(["a", "b"]), c_grid=[0.0])
    probe = train_probe(np.eye(2, dtype=np.float32), np.array(["a", "b"]), c_grid=[1.0])
    with pytest.raises(ValueError, match="3 features but the scaler was fitted on 2"):
        probe.predict(np.zeros((1, 3)))
