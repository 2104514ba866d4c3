"""Tatoeba's retrieval scoring and the margin maths: hand-computed cases, then a brute-force numpy definition."""

import numpy as np
import pytest

from xharness.tasks.knn import l2_normalize
from xharness.tasks.mining import apply_margin, margin_rescore
from xharness.tasks.probe import accuracy
from xharness.tasks.tatoeba import score_retrieval


def unit(degrees):
    rad = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(rad), np.sin(rad)], axis=1).astype(np.float32)


def test_hand_computed_tatoeba_case():
    # English at 0, 90, 40 degrees; translations at 10, 75, 80 degrees. Cosines (rows en, cols xx):
    #   e0: .985 .259 .174 -> x0 (right)     e1: .174 .966 .985 -> x2 (wrong)    e2: .866 .819 .766 -> x0 (wrong)
    # Other direction (cols): x0 -> e0 (right), x1 -> e1 (right), x2 -> e1 (wrong).
    en, xx = unit([0, 90, 40]), unit([10, 75, 80])
    metrics, items = score_retrieval(en, xx, k=2)
    assert items["predicted"] == [0, 2, 0]
    assert items["correct"] == [1, 0, 0]
    assert items["predicted_xx2en"] == [0, 1, 1]
    assert metrics["accuracy"] == pytest.approx(100 / 3)
    assert metrics["accuracy_xx2en"] == pytest.approx(200 / 3)
    # Ratio margin, k=2 (worked on paper): fwd means .6218 .9754 .8426, bwd means .9254 .8925 .8754;
    # e0: x0 1.273 vs x1 .342; e1: x2 1.064 vs x1 1.034; e2: x0 .980 vs x1 .944 -> [0, 2, 0].
    assert items["predicted_margin"] == [0, 2, 0]
    assert metrics["accuracy_margin"] == pytest.approx(100 / 3)


def test_margin_rescore_by_hand():
    D = np.array([[0.9, 0.8]], dtype=np.float32)
    I = np.array([[0, 1]])
    query_mean = np.array([0.85], dtype=np.float32)
    corpus_mean = np.array([0.95, 0.55], dtype=np.float32)
    # denominators: (0.85 + 0.95) / 2 = 0.9 and (0.85 + 0.55) / 2 = 0.7
    np.testing.assert_allclose(margin_rescore(D, I, query_mean, corpus_mean, margin="ratio"), [[1.0, 0.8 / 0.7]], rtol=1e-6)
    np.testing.assert_allclose(margin_rescore(D, I, query_mean, corpus_mean, margin="distance"), [[0.0, 0.1]], atol=1e-6)
    np.testing.assert_allclose(margin_rescore(D, I, query_mean, corpus_mean, margin="absolute"), [[0.9, 0.8]], atol=1e-6)
    with pytest.raises(ValueError, match="unknown margin"):
        apply_margin(D, D, "cubic")


def brute_margin_top1(q, c, k, margin):
    sim = q.astype(np.float64) @ c.astype(np.float64).T
    k_fwd, k_bwd = min(k, c.shape[0]), min(k, q.shape[0])
    fwd = np.array([np.mean(sorted(row, reverse=True)[:k_fwd]) for row in sim])
    bwd = np.array([np.mean(sorted(col, reverse=True)[:k_bwd]) for col in sim.T])
    out = []
    for i in range(q.shape[0]):
        candidates = np.argsort(-sim[i], kind="stable")[:k_fwd]
        best, best_score = None, -np.inf
        for j in candidates:
            a, b = sim[i, j], (fwd[i] + bwd[j]) / 2
            score = {"ratio": a / b, "distance": a - b, "absolute": a}[margin]
            if score > best_score:
                best, best_score = j, score
        out.append(best)
    return np.array(out)


@pytest.mark.parametrize("margin", ["ratio", "distance", "absolute"])
@pytest.mark.parametrize("shape", [(300, 16), (5, 8)])
def test_every_prediction_equals_brute_force(margin, shape):
    rng = np.random.default_rng(7)
    n, d = shape
    q = l2_normalize(rng.standard_normal((n, d)))
    c = l2_normalize(rng.standard_normal((n, d)))
    sim = q.astype(np.float64) @ c.astype(np.float64).T
    _, items = score_retrieval(q, c, k=4, margin=margin)
    assert items["predicted"] == sim.argmax(axis=1).tolist()
    assert items["predicted_xx2en"] == sim.argmax(axis=0).tolist()
    assert items["predicted_margin"] == brute_margin_top1(q, c, 4, margin).tolist()


def test_score_retrieval_matches_brute_force_on_noisy_translations():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((400, 32))
    en = l2_normalize(base + 0.9 * rng.standard_normal(base.shape))
    xx = l2_normalize(base + 0.9 * rng.standard_normal(base.shape))
    metrics, _ = score_retrieval(en, xx)
    sim = en.astype(np.float64) @ xx.astype(np.float64).T
    gold = np.arange(400)
    assert metrics["accuracy"] == pytest.approx(100 * np.mean(sim.argmax(1) == gold))
    assert metrics["accuracy_xx2en"] == pytest.approx(100 * np.mean(sim.argmax(0) == gold))
    assert metrics["accuracy_margin"] == pytest.approx(100 * np.mean(brute_margin_top1(en, xx, 4, "ratio") == gold))
    assert 5 < metrics["accuracy"] < 95  # the noise makes it a real test, not all right or all wrong


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        l2_normalize(np.zeros(3))
    with pytest.raises(ValueError, match="all zeros"):
        l2_normalize(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be aligned"):
        score_retrieval(unit([0, 1]), unit([0]))
    with pytest.raises(ValueError):
        accuracy(np.array([]), np.array([]))


def test_ties_between_identical_vectors_go_to_the_lower_index():
    # Corpus rows 1 and 3 are the same vector (a model mapping two sentences to one embedding).
    corpus = l2_normalize(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]], dtype=np.float32))
    queries = l2_normalize(np.array([[0.1, 1, 0], [0.1, 1, 0.05], [1, 0, 0], [0, 1, 0.1]], dtype=np.float32))
    metrics, items = score_retrieval(queries, corpus, k=2)
    sim = queries.astype(np.float64) @ corpus.astype(np.float64).T
    assert items["predicted"] == sim.argmax(axis=1).tolist()  # query 3's own line (3) loses the tie
    assert items["predicted_xx2en"] == sim.argmax(axis=0).tolist()
    assert metrics["accuracy"] == 25.0  # only query 1 retrieves its own line
