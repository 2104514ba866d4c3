"""Retrieval at scale: blocked top-k ties and progress, candidates streamed to a memmap, GPU sharding
selection (CPU only: the cloner is replaced), and an approximate index's measured recall."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import xharness.tasks.knn as knn
import xharness.tasks.topk as topk
from xharness.tasks.mining import mine
from xharness.tasks.recall import measured_recall, recall_at_k, sample_rows, two_way_recall
from xharness.tasks.topk import blocked_topk, embed_to_memmap


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def brute_topk(q, c, k):
    S = q.astype(np.float64) @ c.T.astype(np.float64)
    return np.array([sorted(range(len(c)), key=lambda j: (-S[i, j], j))[:k] for i in range(len(q))])


# -- blocked top-k ----------------------------------------------------------------------------


def test_ties_across_the_seed_columns_go_to_the_lower_index(monkeypatch):
    monkeypatch.setattr(topk, "SEED_COLUMNS", 8)
    rng = np.random.default_rng(5)
    q = rng.integers(-3, 4, (30, 6)).astype(np.float32)  # small integers: every order of summing gives the same value
    c = rng.integers(-3, 4, (200, 6)).astype(np.float32)
    c[[3, 9, 20, 63, 64, 150]] = c[2]  # copies inside the seed, after it in the first block, and in later blocks
    D, I = blocked_topk(q, c, k=12, block_size=64, query_chunk=7)
    assert (I == brute_topk(q, c, 12)).all()
    assert np.array_equal(D, np.take_along_axis(q @ c.T, I, axis=1))


def test_progress_counts_every_query_once():
    rng = np.random.default_rng(0)
    q, c = unit(rng.standard_normal((50, 8))), unit(rng.standard_normal((1000, 8)))
    steps: list[int] = []
    blocked_topk(q, c, k=5, block_size=300, progress=steps.append)
    assert len(steps) == 4 and sum(steps) == 50 and all(s >= 0 for s in steps)


def test_embed_to_memmap_holds_one_chunk_at_a_time(tmp_path):
    texts = [f"sentence {i}" for i in range(40_000)]
    dim = 64

    def fake(batch):
        return np.random.default_rng(len(batch)).standard_normal((len(batch), dim)).astype(np.float32) + 0.1

    full = len(texts) * dim * 4  # what holding every vector would take (10 MB)
    tracemalloc.start()
    try:
        vectors = embed_to_memmap(texts, fake, tmp_path / "v.f32", chunk=2000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(vectors, np.memmap) and vectors.shape == (40_000, dim)
    assert np.allclose(np.linalg.norm(vectors[::997], axis=1), 1, atol=1e-5)
    assert peak < full / 4, (peak, full)


def test_lareqa_pool_streams_to_a_memmap_with_the_same_scores(tmp_path, monkeypatch):
    import xharness.tasks.lareqa as lq
    from fakes import CharNgramAdapter
    from retrieval_fixtures import write_lareqa

    root = write_lareqa(tmp_path)
    model = CharNgramAdapter().encode
    in_memory = lq.Lareqa(root).run(model, model={"name": "char"}, languages=["de", "en"])
    monkeypatch.setattr(lq, "EMBED_CHUNK", 5)  # 18 candidates: four chunks through the file
    task = lq.Lareqa(root)
    streamed = task.run(model, model={"name": "char"}, languages=["de", "en"])
    assert isinstance(task._pool_vectors, np.memmap)
    assert streamed.items == in_memory.items
    assert {k: v.main_score for k, v in streamed.scores.items()} == {k: v.main_score for k, v in in_memory.scores.items()}


# -- GPU selection, on CPU: the cloner is replaced by one that records its options ---------------


def test_exact_search_shards_over_gpus_when_faiss_has_them(monkeypatch):
    import faiss

    calls = []

    class Options:
        shard = False

    def cloner(index, co=None):
        calls.append((type(index).__name__, co.shard))
        return index  # the CPU index stands in for the sharded one: the branch's merging is what runs

    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 2)
    monkeypatch.setattr(faiss, "GpuMultipleClonerOptions", Options, raising=False)
    monkeypatch.setattr(faiss, "index_cpu_to_all_gpus", cloner)
    rng = np.random.default_rng(1)
    q, c = unit(rng.standard_normal((20, 8))), unit(rng.standard_normal((500, 8)))
    D, I = blocked_topk(q, c, k=6, block_size=128)
    assert calls == [("IndexFlatIP", True)]
    assert (I == brute_topk(q, c, 6)).all()
    knn.build_index(c, index="flat")
    assert calls[-1] == ("IndexFlatIP", True)
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 0)
    assert knn.flat_gpu_index(8) is None and len(calls) == 2


# -- measured recall of approximate indexes ----------------------------------------------------


def clustered(n_clusters=25, per_cluster=40, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((n_clusters, dim)))
    points = np.repeat(centres, per_cluster, axis=0) + 0.05 * rng.standard_normal((n_clusters * per_cluster, dim))
    # Queries halfway between two clusters: their neighbours lie in both, and one probed list holds half.
    queries = centres + np.roll(centres, 1, axis=0) + 0.01 * rng.standard_normal(centres.shape)
    return unit(queries), unit(points)


def test_recall_of_exact_search_is_one():
    q, c = clustered()
    _, I = blocked_topk(q, c, k=10)
    assert measured_recall(q, c, I) == (1.0, 25)
    assert two_way_recall(c, q, knn.two_way_knn(c, q, k=4), index="flat")["recall_at_k"] == 1.0


def test_weak_ivf_recall_below_one_equals_brute_force():
    import faiss

    q, c = clustered()
    quantizer = faiss.IndexFlatIP(c.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, c.shape[1], 25, faiss.METRIC_INNER_PRODUCT)
    ivf.train(c)
    ivf.add(c)
    ivf.nprobe = 1
    found = ivf.search(q, 10)[1]
    exact = brute_topk(q, c, 10)
    S64 = q.astype(np.float64) @ c.T.astype(np.float64)
    kth64 = np.take_along_axis(S64, exact, axis=1)[:, -1:]
    # A found neighbour counts when it is at least as similar as the exact 10th (1e-6 tolerance).
    by_hand = np.mean(np.take_along_axis(S64, found, axis=1) >= kth64 - 1e-6)
    overlap = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found.tolist(), exact.tolist())])
    assert by_hand == overlap  # no near-ties here: the same as the overlap of the index sets
    recall, sampled = measured_recall(q, c, found)
    assert sampled == 25 and 0 < recall < 1
    assert recall == pytest.approx(by_hand)
    S = q @ c.T
    kth = np.take_along_axis(S, exact, axis=1)[:, -1]
    assert recall_at_k(np.take_along_axis(S, found, axis=1), kth).mean() == pytest.approx(by_hand)
    assert measured_recall(q, c, found, sample=10)[1] == 10  # a seeded sample when there are more queries


def test_mine_records_the_recall_of_a_weak_ivf(monkeypatch):
    import xharness.tasks.mining as mining

    real_build, seen = knn.build_index, {}

    def weak(corpus, *, index="flat"):
        idx = real_build(corpus, index=index)
        if index == "ivf":
            idx.nprobe = 1
        return idx

    def keep(x, y, **kw):
        seen["nb"] = nb = knn.two_way_knn(x, y, **kw)
        seen["xy"] = (x, y)
        return nb

    monkeypatch.setattr(knn, "build_index", weak)
    monkeypatch.setattr(mining, "two_way_knn", keep)
    q, c = clustered(per_cluster=60)
    src = np.concatenate([q, c[::7]])
    record: dict = {}
    mine(src, c, k=4, index="ivf", record=record)
    got = record["index_recall"]
    x, y = seen["xy"]
    nb = seen["nb"]
    fwd = np.mean([len(set(f) & set(e)) / 4 for f, e in zip(nb.fwd_I.tolist(), brute_topk(x, y, 4).tolist())])
    rows = sample_rows(len(y))  # 1 500 targets: a seeded sample of 1 000 is checked
    bwd = np.mean([len(set(f) & set(e)) / 4 for f, e in zip(nb.bwd_I[rows].tolist(), brute_topk(y[rows], x, 4).tolist())])
    assert got["fwd"] == pytest.approx(fwd) and got["bwd"] == pytest.approx(bwd)
    assert got["queries"] == {"fwd": len(x), "bwd": 1000} and len(rows) == 1000
    assert got["recall_at_k"] == pytest.approx((fwd * len(x) + bwd * 1000) / (len(x) + 1000))
    assert got["fwd"] < 1 and got["index"] == "ivf" and got["k"] == 4
    plain: dict = {}
    mine(src, c, k=4, index="flat", record=plain)
    assert plain == {}  # exact search records nothing


def test_bucc_with_an_approximate_index_records_its_recall(tmp_path):
    from fakes import LookupAdapter
    from test_bucc import toy_split
    from xharness.results import TaskResult
    from xharness.runner import EvalRequest, RunOptions, run_eval

    vectors = toy_split(tmp_path, "dev", pairs=3, src_extra=2, en_extra=1, offset=0)
    vectors |= toy_split(tmp_path, "test", pairs=4, src_extra=1, en_extra=2, offset=8)
    out = tmp_path / "results"
    request = EvalRequest(model="toy", tasks=("bucc2018",), data_dir=tmp_path, task_options={"index": "hnsw"}, run=RunOptions(out_dir=out))
    run_eval(request, adapter=LookupAdapter(vectors))
    result = TaskResult.from_disk(out / "toy" / "bucc2018.json")
    de = result.scores["de"].metrics
    # HNSW finds every neighbour of a dozen points (or one as similar: the toy vectors tie a lot)
    assert de["index_recall"] == 1.0 and de["index_recall_dev"] == 1.0
    assert "index_recall" in result.task["protocol"] and "seed 0" in result.task["protocol"]["index_recall"]


def test_mine_files_records_recall_with_an_approximate_index(tmp_path):
    from fakes import CharNgramAdapter
    from xharness.mine_files import mine_files

    (tmp_path / "a.txt").write_text("".join(f"line number {i} here\n" for i in range(30)), encoding="utf-8")
    (tmp_path / "b.txt").write_text("".join(f"line number {i} there\n" for i in range(30)), encoding="utf-8")
    record: dict = {}
    embed = CharNgramAdapter().encode
    mine_files(tmp_path / "a.txt", tmp_path / "b.txt", embed, out=tmp_path / "p.tsv", index="hnsw", record=record)
    assert record["index_recall"]["queries"] == {"fwd": 30, "bwd": 30} and 0 < record["index_recall"]["recall_at_k"] <= 1
