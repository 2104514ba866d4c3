"""Margin mining: hand-worked cases, then every option against a literal brute-force definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xharness.tasks.knn import Neighbours, blocked_two_way_knn, build_index, faiss_knn, l2_normalize, two_way_knn
from xharness.tasks.mining import candidates, greedy_one_to_one, mine, neighbour_means, unique_lines

MARGINS = ("ratio", "distance", "absolute")
RETRIEVALS = ("fwd", "bwd", "intersect", "max")


def vectors_with_cosines(S):
    """Unit source vectors e_i and unit target vectors whose cosine with source i is S[i, j].

    Target j = sum_i S[i, j] e_i + sqrt(1 - |S[:, j]|^2) e_(n + j): one private axis per target
    tops its norm up to 1, so the cosine matrix is exactly S (up to float32 rounding).
    """
    S = np.asarray(S, dtype=np.float64)
    n, m = S.shape
    src = np.eye(n, n + m)
    tgt = np.zeros((m, n + m))
    tgt[:, :n] = S.T
    tgt[np.arange(m), n + np.arange(m)] = np.sqrt(np.maximum(0, 1 - (S**2).sum(axis=0)))
    return src.astype(np.float32), tgt.astype(np.float32)


# The worked example: 4 sources x 5 targets, k = 2.
#          y0   y1   y2   y3   y4
#   x0    .6   0    .5   0    .1
#   x1    .1   .1   .7   .8   0
#   x2    0    0    .2   0    .4
#   x3    .5   .2   .4   .3   .2
# 2 nearest targets: x0 y0 .6, y2 .5 -> fwd_mean .55;  x1 y3 .8, y2 .7 -> .75;
#                    x2 y4 .4, y2 .2 -> .30;           x3 y0 .5, y2 .4 -> .45.
# 2 nearest sources: y0 x0 .6, x3 .5 -> bwd_mean .55;  y1 x3 .2, x1 .1 -> .15;  y2 x1 .7, x0 .5 -> .60;
#                    y3 x1 .8, x3 .3 -> .55;           y4 x2 .4, x3 .2 -> .30.
# Denominators (fwd_mean[x] + bwd_mean[y]) / 2 of the candidate pairs:
#   (0,0) .55  (0,2) .575  (1,3) .65  (1,2) .675  (2,4) .30  (2,2) .45  (3,0) .50  (3,2) .525
#   (3,1) .30  (1,1) .45   (3,3) .50  (3,4) .375
CASE = [[0.6, 0, 0.5, 0, 0.1], [0.1, 0.1, 0.7, 0.8, 0], [0, 0, 0.2, 0, 0.4], [0.5, 0.2, 0.4, 0.3, 0.2]]

# ratio a / b:
#   fwd  x0: y0 .6/.55 = 1.0909, y2 .5/.575 = .8696 -> y0    x1: y3 .8/.65 = 1.2308, y2 .7/.675 = 1.0370 -> y3
#        x2: y4 .4/.30 = 1.3333, y2 .2/.45 = .4444  -> y4    x3: y0 .5/.50 = 1.0,    y2 .4/.525 = .7619  -> y0
#   bwd  y0: x0 1.0909, x3 1.0 -> x0    y1: x3 .2/.30 = .6667, x1 .1/.45 = .2222 -> x3
#        y2: x1 1.0370, x0 .8696 -> x1  y3: x1 1.2308, x3 .3/.50 = .6 -> x1    y4: x2 1.3333, x3 .2/.375 = .5333 -> x2
#   intersect: x3 -> y0 -> x0 is not mutual; the other three are.
#   max, pooled best first: (2,4) (1,3) (0,0) [each twice], (1,2) 1.037 x1 taken, (3,0) 1.0 y0 taken, (3,1) .6667 kept.
# distance a - b:
#   fwd  x0: y0 .05, y2 -.075 -> y0   x1: y3 .15, y2 .025 -> y3   x2: y4 .10, y2 -.25 -> y4   x3: y0 .0, y2 -.125 -> y0
#   bwd  y0: x0 .05 (x3 .0)   y1: x3 -.10 (x1 -.35)   y2: x1 .025 (x0 -.075)   y3: x1 .15 (x3 -.2)   y4: x2 .10 (x3 -.175)
#   max: (1,3) (2,4) (0,0), (1,2) x1 taken, (3,0) y0 taken, (3,1) -.10 kept.
# absolute a (no neighbourhood correction):
#   fwd  x0 y0 .6, x1 y3 .8, x2 y4 .4, x3 y0 .5;   bwd  y0 x0 .6, y1 x3 .2, y2 x1 .7, y3 x1 .8, y4 x2 .4
#   max: (1,3) .8, (1,2) .7 x1 taken, (0,0) .6, (3,0) .5 y0 taken, (2,4) .4, (3,1) .2 kept.
EXPECTED = {
    ("ratio", "fwd"): [(2, 4, 4 / 3), (1, 3, 0.8 / 0.65), (0, 0, 0.6 / 0.55), (3, 0, 1.0)],
    ("ratio", "bwd"): [(2, 4, 4 / 3), (1, 3, 0.8 / 0.65), (0, 0, 0.6 / 0.55), (1, 2, 0.7 / 0.675), (3, 1, 2 / 3)],
    ("ratio", "intersect"): [(2, 4, 4 / 3), (1, 3, 0.8 / 0.65), (0, 0, 0.6 / 0.55)],
    ("ratio", "max"): [(2, 4, 4 / 3), (1, 3, 0.8 / 0.65), (0, 0, 0.6 / 0.55), (3, 1, 2 / 3)],
    ("distance", "fwd"): [(1, 3, 0.15), (2, 4, 0.10), (0, 0, 0.05), (3, 0, 0.0)],
    ("distance", "bwd"): [(1, 3, 0.15), (2, 4, 0.10), (0, 0, 0.05), (1, 2, 0.025), (3, 1, -0.10)],
    ("distance", "intersect"): [(1, 3, 0.15), (2, 4, 0.10), (0, 0, 0.05)],
    ("distance", "max"): [(1, 3, 0.15), (2, 4, 0.10), (0, 0, 0.05), (3, 1, -0.10)],
    ("absolute", "fwd"): [(1, 3, 0.8), (0, 0, 0.6), (3, 0, 0.5), (2, 4, 0.4)],
    ("absolute", "bwd"): [(1, 3, 0.8), (1, 2, 0.7), (0, 0, 0.6), (2, 4, 0.4), (3, 1, 0.2)],
    ("absolute", "intersect"): [(1, 3, 0.8), (0, 0, 0.6), (2, 4, 0.4)],
    ("absolute", "max"): [(1, 3, 0.8), (0, 0, 0.6), (2, 4, 0.4), (3, 1, 0.2)],
}


@pytest.mark.parametrize("margin, retrieval", sorted(EXPECTED))
def test_worked_example(margin, retrieval):
    src, tgt = vectors_with_cosines(CASE)
    s, t, sc = mine(src, tgt, k=2, margin=margin, retrieval=retrieval)
    want = EXPECTED[margin, retrieval]
    assert list(zip(s.tolist(), t.tolist())) == [(a, b) for a, b, _ in want]
    np.testing.assert_allclose(sc, [c for _, _, c in want], rtol=1e-5, atol=1e-6)
    assert s.dtype == np.int64 and t.dtype == np.int64 and sc.dtype == np.float32


def test_worked_example_building_blocks():
    src, tgt = vectors_with_cosines(CASE)
    nb = two_way_knn(l2_normalize(src), l2_normalize(tgt), k=2)
    assert nb.fwd_I.tolist() == [[0, 2], [3, 2], [4, 2], [0, 2]]
    assert nb.bwd_I.tolist() == [[0, 3], [3, 1], [1, 0], [1, 3], [2, 3]]
    fwd_mean, bwd_mean = neighbour_means(nb)
    np.testing.assert_allclose(fwd_mean, [0.55, 0.75, 0.30, 0.45], atol=1e-6)
    np.testing.assert_allclose(bwd_mean, [0.55, 0.15, 0.60, 0.55, 0.30], atol=1e-6)


def test_ratio_margin_demotes_a_hub():
    # y2 is close to every source (a hub). x2's nearest target is y2 (.6) but its margin-best is y0:
    #   fwd_mean x2 = (.6 + .5) / 2 = .55; bwd_mean y2 = (.6 + .5) / 2 = .55, y0 = (.5 + .1) / 2 = .30
    #   ratio: y2 .6 / ((.55 + .55) / 2) = 1.0909 < y0 .5 / ((.55 + .30) / 2) = 1.1765; absolute keeps y2.
    S = [[0, 0, 0.2, 0.8, 0], [0, 0.2, 0.5, 0, 0.3], [0.5, 0.1, 0.6, 0, 0.4], [0.1, 0, 0, 0.6, 0]]
    src, tgt = vectors_with_cosines(S)
    for margin, want, score in (("ratio", 0, 0.5 / 0.425), ("absolute", 2, 0.6)):
        s, t, sc = mine(src, tgt, k=2, margin=margin, retrieval="fwd")
        row = s.tolist().index(2)
        assert t[row] == want
        assert sc[row] == pytest.approx(score, rel=1e-5)


def test_threshold_is_inclusive():
    src, tgt = vectors_with_cosines(CASE)
    s, t, sc = mine(src, tgt, k=2)
    for cut in range(len(sc)):
        s2, t2, sc2 = mine(src, tgt, k=2, threshold=float(sc[cut]))
        assert s2.tolist() == s[: cut + 1].tolist() and t2.tolist() == t[: cut + 1].tolist()
    assert mine(src, tgt, k=2, threshold=float(sc[0]) + 1e-3)[0].size == 0
    assert mine(src, tgt, k=2, threshold=-np.inf)[0].size == len(sc)
    # threshold filters after the one-to-one selection: same pairs as filtering the full list
    s3, _, sc3 = mine(src, tgt, k=2, retrieval="bwd", threshold=0.7)
    assert (sc3 >= 0.7).all() and s3.tolist() == [2, 1, 0, 1]


def test_k_is_capped_by_the_other_side():
    src, tgt = vectors_with_cosines(CASE)  # 4 sources, 5 targets
    nb = two_way_knn(l2_normalize(src), l2_normalize(tgt), k=10)
    assert nb.fwd_D.shape == (4, 5) and nb.bwd_D.shape == (5, 4)
    fwd_mean, bwd_mean = neighbour_means(nb)
    S = np.asarray(CASE)
    np.testing.assert_allclose(fwd_mean, S.mean(axis=1), atol=1e-6)  # every target is a neighbour
    np.testing.assert_allclose(bwd_mean, S.mean(axis=0), atol=1e-6)
    assert [p.tolist() for p in mine(src, tgt, k=10)[:2]] == [p.tolist() for p in mine(src, tgt, k=5)[:2]]


def test_ties_are_broken_deterministically():
    # Every similarity .5, so every score is 1 (ratio). Forward bests: x0 -> y0 and x1 -> y0 (the
    # first of equal candidates); backward bests: y0 -> x0, y1 -> x0. Pool order on equal scores:
    # forward first, then lower source, then lower target: f(0,0) f(1,0) b(0,0) b(0,1).
    D = np.full((2, 2), 0.5, dtype=np.float32)
    I = np.array([[0, 1], [0, 1]])
    nb = Neighbours(D, I, D.copy(), I.copy())
    for retrieval, want in (("fwd", [(0, 0), (1, 0)]), ("bwd", [(0, 0), (0, 1)]), ("intersect", [(0, 0)]), ("max", [(0, 0)])):
        s, t, sc = candidates(nb, retrieval=retrieval)
        assert list(zip(s.tolist(), t.tolist())) == want
        assert (sc == 1).all()


# --------------------------------------------------------------------------------------------
# brute force, literally from the definition


def brute_mine(src, tgt, k, margin, retrieval, threshold=None):
    x = src.astype(np.float64) / np.linalg.norm(src, axis=1, keepdims=True)
    y = tgt.astype(np.float64) / np.linalg.norm(tgt, axis=1, keepdims=True)
    sim = x @ y.T  # the full n x m matrix: fine for a test
    n, m = sim.shape
    k_fwd, k_bwd = min(k, m), min(k, n)
    fwd_mean = [sum(sorted(sim[i], reverse=True)[:k_fwd]) / k_fwd for i in range(n)]
    bwd_mean = [sum(sorted(sim[:, j], reverse=True)[:k_bwd]) / k_bwd for j in range(m)]

    def score(i, j):
        a, b = sim[i, j], (fwd_mean[i] + bwd_mean[j]) / 2
        return {"ratio": a / b, "distance": a - b, "absolute": a}[margin]

    fwd, bwd = {}, {}
    for i in range(n):
        nearest = sorted(range(m), key=lambda j: (-sim[i, j], j))[:k_fwd]
        best = max(nearest, key=lambda j: (score(i, j), -nearest.index(j)))
        fwd[i] = (best, score(i, best))
    for j in range(m):
        nearest = sorted(range(n), key=lambda i: (-sim[i, j], i))[:k_bwd]
        best = max(nearest, key=lambda i: (score(i, j), -nearest.index(i)))
        bwd[j] = (best, score(best, j))
    if retrieval == "fwd":
        pairs = [(i, j, s) for i, (j, s) in fwd.items()]
    elif retrieval == "bwd":
        pairs = [(i, j, s) for j, (i, s) in bwd.items()]
    elif retrieval == "intersect":
        pairs = [(i, j, s) for i, (j, s) in fwd.items() if bwd[j][0] == i]
    else:
        pool = [(s, 0, i, j) for i, (j, s) in fwd.items()] + [(s, 1, i, j) for j, (i, s) in bwd.items()]
        pool.sort(key=lambda p: (-p[0], p[1], p[2], p[3]))
        taken_src, taken_tgt, pairs = set(), set(), []
        for s, _, i, j in pool:
            if i not in taken_src and j not in taken_tgt:
                taken_src.add(i)
                taken_tgt.add(j)
                pairs.append((i, j, s))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    if threshold is not None:
        pairs = [p for p in pairs if p[2] >= threshold]
    return pairs


def parallel_data(n, m, d, seed):
    """Half the targets are noisy copies of sources (true pairs), the rest distractors."""
    rng = np.random.default_rng(seed)
    src = rng.standard_normal((n, d)).astype(np.float32)
    tgt = rng.standard_normal((m, d)).astype(np.float32)
    shared = min(n, m) // 2
    tgt[:shared] = src[rng.permutation(n)[:shared]] + 0.7 * rng.standard_normal((shared, d)).astype(np.float32)
    return src, tgt


SIZES = [(300, 250, 1), (300, 250, 4), (250, 300, 7), (6, 200, 10), (200, 3, 5)]


@pytest.mark.parametrize("n, m, k", SIZES)
@pytest.mark.parametrize("retrieval", RETRIEVALS)
@pytest.mark.parametrize("margin", MARGINS)
def test_matches_brute_force(margin, retrieval, n, m, k):
    src, tgt = parallel_data(n, m, 48, seed=n * 1000 + m + k)
    s, t, sc = mine(src, tgt, k=k, margin=margin, retrieval=retrieval)
    want = brute_mine(src, tgt, k, margin, retrieval)
    assert list(zip(s.tolist(), t.tolist())) == [(i, j) for i, j, _ in want]
    np.testing.assert_allclose(sc, [c for _, _, c in want], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("retrieval", RETRIEVALS)
def test_threshold_matches_brute_force(retrieval):
    src, tgt = parallel_data(200, 220, 32, seed=7)
    s, t, sc = mine(src, tgt, k=4, retrieval=retrieval, threshold=1.05)
    want = brute_mine(src, tgt, 4, "ratio", retrieval, threshold=1.05)
    assert 0 < len(want) < min(200, 220)
    assert list(zip(s.tolist(), t.tolist())) == [(i, j) for i, j, _ in want]


# --------------------------------------------------------------------------------------------
# the kNN engines


def brute_knn(q, c, k):
    sim = q.astype(np.float64) @ c.astype(np.float64).T
    I = np.array([sorted(range(c.shape[0]), key=lambda j: (-row[j], j))[:k] for row in sim])
    return np.take_along_axis(sim, I, axis=1), I


@pytest.mark.parametrize("n, m, k, block", [(53, 41, 4, 7), (41, 53, 3, 16), (9, 70, 12, 5), (30, 30, 1, 1000)])
def test_blocked_pass_is_exact(n, m, k, block):
    rng = np.random.default_rng(n + m)
    x, y = (l2_normalize(rng.standard_normal((size, 16))) for size in (n, m))
    nb = blocked_two_way_knn(x, y, k=k, block_size=block)
    for D, I, (want_D, want_I) in ((nb.fwd_D, nb.fwd_I, brute_knn(x, y, k)), (nb.bwd_D, nb.bwd_I, brute_knn(y, x, k))):
        assert I.tolist() == want_I.tolist()
        np.testing.assert_allclose(D, want_D, atol=1e-6)


def test_blocked_pass_breaks_ties_by_lower_index():
    # Small integer vectors: every dot product is exact, so equal similarities really are equal.
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, size=(40, 4)).astype(np.float32)
    y = rng.integers(-2, 3, size=(45, 4)).astype(np.float32)
    for k, block in ((5, 3), (5, 8), (5, 64), (11, 4), (11, 16), (11, 64)):  # k > 8: another seeding path
        nb = blocked_two_way_knn(x, y, k=k, block_size=block)
        assert nb.fwd_I.tolist() == brute_knn(x, y, k)[1].tolist()
        assert nb.bwd_I.tolist() == brute_knn(y, x, k)[1].tolist()


def test_faiss_flat_matches_blocked():
    src, tgt = parallel_data(300, 280, 24, seed=11)
    x, y = l2_normalize(src), l2_normalize(tgt)
    nb = blocked_two_way_knn(x, y, k=4)
    D, I = faiss_knn(x, y, k=4)
    assert I.tolist() == nb.fwd_I.tolist()
    np.testing.assert_allclose(D, nb.fwd_D, atol=1e-6)
    D, I = faiss_knn(y, x, k=9)
    assert I.tolist() == brute_knn(y, x, 9)[1].tolist()


def clustered(n, d, clusters, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    src = centres[rng.integers(0, clusters, n)] + 0.35 * rng.standard_normal((n, d)).astype(np.float32)
    perm = rng.permutation(n)
    tgt = src[perm] + 0.15 * rng.standard_normal((n, d)).astype(np.float32)
    return src, tgt, np.argsort(perm)  # gold: source i is target gold[i]


@pytest.mark.parametrize("index", ["hnsw", "ivf"])
def test_approximate_index_recall(index):
    src, tgt, gold = clustered(2000, 32, 40, seed=5)
    x, y = l2_normalize(src), l2_normalize(tgt)
    exact = two_way_knn(x, y, k=4)
    approx = two_way_knn(x, y, k=4, index=index)
    for got, want in ((approx.fwd_I, exact.fwd_I), (approx.bwd_I, exact.bwd_I)):
        recall = np.mean([len(set(a) & set(b)) / 4 for a, b in zip(got.tolist(), want.tolist())])
        assert recall >= 0.95, f"{index} 4-NN recall {recall:.3f}"
    s_exact, t_exact, _ = candidates(exact)  # = mine(src, tgt), reusing the searches above
    s, t, _ = candidates(approx)
    agree = len(set(zip(s.tolist(), t.tolist())) & set(zip(s_exact.tolist(), t_exact.tolist()))) / len(s_exact)
    assert agree >= 0.97
    assert np.mean(t_exact == gold[s_exact]) > 0.95  # and the data is really parallel


def test_empty_slots_of_an_approximate_index_are_filled_exactly(monkeypatch):
    # An approximate index may return fewer than k hits (-1 slots); those queries are redone exactly.
    from xharness.tasks import knn

    class Sparse:
        def __init__(self, inner):
            self.inner = inner

        def search(self, q, k):
            D, I = self.inner.search(q, k)
            I[::3, -1] = -1
            return D, I

    real = knn.build_index
    monkeypatch.setattr(knn, "build_index", lambda c, *, index: Sparse(real(c, index=index)))
    src, tgt = parallel_data(50, 60, 8, seed=4)
    x, y = l2_normalize(src), l2_normalize(tgt)
    D, I = faiss_knn(x, y, k=4, index="hnsw")
    assert I.tolist() == brute_knn(x, y, 4)[1].tolist()


def test_build_index_kinds():
    x = l2_normalize(np.random.default_rng(0).standard_normal((100, 8)))
    for kind in ("flat", "hnsw", "ivf"):
        assert build_index(x, index=kind).ntotal == 100
    with pytest.raises(ValueError, match="unknown index"):
        build_index(x, index="lsh")


# --------------------------------------------------------------------------------------------
# greedy one-to-one selection


def greedy_loop(src_idx, tgt_idx):
    taken_s, taken_t, keep = set(), set(), []
    for a, b in zip(src_idx, tgt_idx):
        keep.append(a not in taken_s and b not in taken_t)
        if keep[-1]:
            taken_s.add(a)
            taken_t.add(b)
    return keep


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=60))
def test_greedy_matches_the_loop(pairs):
    s = np.array([p[0] for p in pairs], dtype=np.int64)
    t = np.array([p[1] for p in pairs], dtype=np.int64)
    assert greedy_one_to_one(s, t).tolist() == greedy_loop(s.tolist(), t.tolist())


def test_greedy_on_a_long_chain():
    # (0,0) (1,0) (1,1) (2,1) (2,2) ...: each round settles one pair, so the loop finishes it.
    n = 3000
    s = np.repeat(np.arange(n), 2)[1:]
    t = np.repeat(np.arange(n), 2)[:-1]
    keep = greedy_one_to_one(s, t)
    assert keep.tolist() == greedy_loop(s.tolist(), t.tolist())
    assert keep.sum() == n


# --------------------------------------------------------------------------------------------
# unify


def test_unique_lines():
    first, inverse = unique_lines(["b", "a", "b", "c", "a"])
    assert first.tolist() == [0, 1, 3] and inverse.tolist() == [0, 1, 0, 2, 1]


def test_unify_reports_every_line_of_a_mined_text():
    # Source lines 0 and 2 are the same sentence, target lines 1 and 2 too.
    src_texts, tgt_texts = ["a", "b", "a", "c"], ["A", "B", "B", "C"]
    s_u, t_u = vectors_with_cosines([[0.9, 0.1, 0.0], [0.1, 0.9, 0.2], [0.0, 0.2, 0.9]])
    src = s_u[[0, 1, 0, 2]]  # a b a c
    tgt = t_u[[0, 1, 1, 2]]  # A B B C
    s, t, sc = mine(src, tgt, k=2, unify=True, src_texts=src_texts, tgt_texts=tgt_texts)
    s_ref, t_ref, sc_ref = mine(s_u, t_u, k=2)  # the three distinct texts, mined alone
    assert list(zip(s_ref.tolist(), t_ref.tolist())) == [(0, 0), (1, 1), (2, 2)]
    # (a, A) -> lines (0, 0), (2, 0); (b, B) -> (1, 1), (1, 2); (c, C) -> (3, 3). Scores repeat.
    want = {(0, 0): sc_ref[0], (2, 0): sc_ref[0], (1, 1): sc_ref[1], (1, 2): sc_ref[1], (3, 3): sc_ref[2]}
    got = list(zip(s.tolist(), t.tolist()))
    assert sorted(got) == sorted(want)
    np.testing.assert_allclose(sc, [want[p] for p in got], rtol=1e-6)
    assert (np.diff(sc) <= 0).all()
    for i, j in got:
        assert src_texts[i].upper() == tgt_texts[j].upper()
    # equal scores keep ascending line numbers within a mined pair
    assert got.index((0, 0)) < got.index((2, 0)) and got.index((1, 1)) < got.index((1, 2))


def test_unify_without_duplicates_changes_nothing():
    src, tgt = parallel_data(80, 90, 16, seed=2)
    plain = mine(src, tgt)
    unified = mine(src, tgt, unify=True, src_texts=[f"s{i}" for i in range(80)], tgt_texts=[f"t{j}" for j in range(90)])
    for a, b in zip(plain, unified):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# input errors and edge cases


def test_shape_and_dtype_errors_name_the_shapes():
    x = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2, 5\)"):
        mine(x, np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"2-D.*\(4,\)"):
        mine(np.ones(4), x)
    with pytest.raises(ValueError, match=r"2-D.*\(2, 3, 4\)"):
        mine(x, np.ones((2, 3, 4)))
    with pytest.raises(TypeError, match=r"<U1.*\(2, 2\)"):
        mine(np.array([["a", "b"], ["c", "d"]]), x)
    with pytest.raises(TypeError, match="bool"):
        mine(x, np.ones((3, 4), dtype=bool))
    with pytest.raises(TypeError, match="object"):
        mine(np.array([[1, None]], dtype=object), x)
    with pytest.raises(ValueError, match="NaN"):
        mine(np.full((2, 4), np.nan), x)
    with pytest.raises(ValueError, match="zeros"):
        mine(np.zeros((2, 4)), x)
    with pytest.raises(TypeError, match="k must be an integer"):
        mine(x, x, k=2.5)
    with pytest.raises(ValueError, match="k must be >= 1"):
        mine(x, x, k=0)
    with pytest.raises(ValueError, match="unknown margin 'cubic'"):
        mine(x, x, margin="cubic")
    with pytest.raises(ValueError, match="unknown retrieval"):
        mine(x, x, retrieval="both")
    with pytest.raises(ValueError, match="unknown index"):
        mine(x, x, index="gpu")
    with pytest.raises(ValueError, match="threshold is NaN"):
        mine(x, x, threshold=float("nan"))
    with pytest.raises(ValueError, match="needs src_texts"):
        mine(x, x, unify=True)
    with pytest.raises(ValueError, match=r"tgt_texts has 2 lines but tgt has shape \(3, 4\)"):
        mine(x, x, unify=True, src_texts=["a", "b", "c"], tgt_texts=["a", "b"])
    with pytest.raises(ValueError, match=r"fwd_D has shape \(2, 2\) but fwd_I has shape \(2, 3\)"):
        candidates(Neighbours(np.ones((2, 2)), np.zeros((2, 3), int), np.ones((2, 2)), np.zeros((2, 2), int)))


def test_empty_inputs_give_no_pairs():
    x = np.ones((3, 4), dtype=np.float32)
    for src, tgt in ((np.empty((0, 4)), x), (x, np.empty((0, 4))), (np.empty((0, 4)), np.empty((0, 4)))):
        s, t, sc = mine(src, tgt)
        assert s.shape == t.shape == sc.shape == (0,)
        assert (s.dtype, t.dtype, sc.dtype) == (np.int64, np.int64, np.float32)
    assert mine(np.empty((0, 4)), x, unify=True, src_texts=[], tgt_texts=["a", "b", "c"])[0].size == 0
    with pytest.raises(ValueError, match=r"\(0, 4\).*\(3, 5\)"):
        mine(np.empty((0, 4)), np.ones((3, 5)))


def test_other_input_dtypes_and_single_rows():
    src, tgt = vectors_with_cosines(CASE)
    want = mine(src, tgt, k=2)
    got = mine(src.astype(np.float64), tgt.astype(np.float64).tolist(), k=2)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    s, t, sc = mine(np.array([[1, 0]]), np.array([[0, 1], [1, 1]]))  # integer input, one source
    assert s.tolist() == [0] and t.tolist() == [1]
