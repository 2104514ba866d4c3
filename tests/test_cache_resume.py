"""Embedding cache (hits, misses, corruption, concurrent writers) and resuming an interrupted run."""

import json
import multiprocessing

import numpy as np
import pytest

from fakes import CharNgramAdapter, CountingAdapter
from xharness.cache import EmbeddingCache, cache_summary, clear_cache
from xharness.embedding import Embedder
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval

DE = ["Ich habe Hunger.", "Das Haus ist rot.", "Wo ist der Bahnhof?", "Heute regnet es."]
EN = ["I am hungry.", "The house is red.", "Where is the station?", "It is raining today."]
FR = ["J'ai faim.", "La maison est rouge.", "Où est la gare ?", "Il pleut aujourd'hui."]


def test_put_get_and_accounting(tmp_path):
    cache = EmbeddingCache("fp1", root=tmp_path)
    vectors, found = cache.get(["a", "b"])
    assert vectors is None and not found.any()
    cache.put(["a", "b"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    vectors, found = cache.get(["b", "c", "a"])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(vectors[[0, 2]], [[0, 1], [1, 0]])
    # A fresh instance (another run, another process) sees the same vectors.
    again = EmbeddingCache("fp1", root=tmp_path)
    assert len(again) == 2
    assert EmbeddingCache("fp2", root=tmp_path).get(["a"])[1].tolist() == [False]


def test_embedder_encodes_each_distinct_text_once(tmp_path):
    adapter = CountingAdapter()
    embed = Embedder(adapter, cache=EmbeddingCache("x", root=tmp_path), name="counting")
    first = embed(EN + EN[:2])
    assert sorted(adapter.encoded) == sorted(EN)
    second = embed(list(reversed(EN)))
    assert sorted(adapter.encoded) == sorted(EN)  # nothing new encoded
    np.testing.assert_array_equal(second, first[:4][::-1])
    np.testing.assert_array_equal(first, CharNgramAdapter(64).encode(EN + EN[:2]))
    assert embed.stats.as_dict() == {"texts": 10, "cache_hits": 4, "encoded": 4}


def test_corrupt_shard_is_detected_and_recomputed(tmp_path, capsys):
    adapter = CountingAdapter()
    Embedder(adapter, cache=EmbeddingCache("x", root=tmp_path))(EN)
    shard = next((tmp_path / "x"[:2] / "x").glob("shard-*.npz"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    cache = EmbeddingCache("x", root=tmp_path)
    warned = capsys.readouterr().err.splitlines()
    assert len(warned) == 1 and warned[0].startswith("xharness: warning: embedding cache: dropping corrupt shard")
    assert cache.stats.corrupt_shards == 1 and len(cache) == 0
    adapter.encoded.clear()
    out = Embedder(adapter, cache=cache)(EN)
    assert sorted(adapter.encoded) == sorted(EN)
    np.testing.assert_array_equal(out, CharNgramAdapter(64).encode(EN))


def test_truncated_description_is_dropped(tmp_path, capsys):
    Embedder(CountingAdapter(), cache=EmbeddingCache("x", root=tmp_path))(EN)
    meta = next((tmp_path / "x" / "x").glob("shard-*.json"))
    meta.write_text('{"n": 4, "dim"', encoding="utf-8")
    assert len(EmbeddingCache("x", root=tmp_path)) == 0
    assert capsys.readouterr().err.startswith("xharness: warning: embedding cache: dropping corrupt shard")


def _write_from_process(root, texts):
    Embedder(CountingAdapter(), cache=EmbeddingCache("shared", root=root))(texts)


def test_two_processes_write_one_cache(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_from_process, args=(tmp_path, batch)) for batch in (EN + DE, DE + FR)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = EmbeddingCache("shared", root=tmp_path)
    assert cache.stats.corrupt_shards == 0
    vectors, found = cache.get(EN + DE + FR)
    assert found.all()
    np.testing.assert_array_equal(vectors, CharNgramAdapter(64).encode(EN + DE + FR))
    assert cache_summary(tmp_path)[0]["vectors"] >= 12
    assert clear_cache(tmp_path) == 1 and not tmp_path.exists()


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for code, sentences in (("deu", DE), ("fra", FR)):
        (folder / f"tatoeba.{code}-eng.{code}").write_text("\n".join(sentences) + "\n", encoding="utf-8")
        (folder / f"tatoeba.{code}-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    return folder


def test_second_run_is_served_from_the_cache(data_dir, tmp_path):
    request = EvalRequest(model="m", data_dir=data_dir, languages=("all",), run=RunOptions(out_dir=tmp_path / "r", cache_dir=tmp_path / "c"))
    first = CountingAdapter()
    run_eval(request, adapter=first)
    assert len(first.encoded) == len(set(DE + FR + EN))
    second = CountingAdapter()
    from dataclasses import replace

    result = run_eval(replace(request, run=replace(request.run, overwrite=True)), adapter=second).results[0]
    assert second.encoded == []
    assert result.run["encoded"] == 0 and result.run["cache_hits"] > 0
    off = CountingAdapter()
    run_eval(replace(request, run=replace(request.run, overwrite=True, cache=False)), adapter=off)
    assert len(off.encoded) == len(DE) + len(FR) + 2 * len(EN)  # English once per language: nothing kept


def test_interrupted_run_resumes_to_the_same_result(data_dir, tmp_path):
    uninterrupted = run_eval(
        EvalRequest(model="m", data_dir=data_dir, languages=("de", "fr"), run=RunOptions(out_dir=tmp_path / "a", cache=False)),
        adapter=CountingAdapter(),
    ).paths[0]
    request = EvalRequest(model="m", data_dir=data_dir, languages=("de", "fr"), run=RunOptions(out_dir=tmp_path / "b", cache=False))
    with pytest.raises(KeyboardInterrupt):
        run_eval(request, adapter=CountingAdapter(fail_on=FR[0]))  # dies in the second language
    partials = list((tmp_path / "b" / "m" / ".partial" / "tatoeba").glob("de.*.json"))
    assert len(partials) == 1 and not (tmp_path / "b" / "m" / "tatoeba.json").exists()
    resumed = CountingAdapter()
    outcome = run_eval(request, adapter=resumed)
    assert not any(text in resumed.encoded for text in DE)  # German was not recomputed
    a, b = TaskResult.from_disk(uninterrupted), TaskResult.from_disk(outcome.paths[0])
    assert a.scores == b.scores
    assert load_items(uninterrupted) == load_items(outcome.paths[0])
    assert b.run["reused_languages"] == ["de"]
    assert not (tmp_path / "b" / "m" / ".partial").exists()  # this run removed its own partials


def test_partials_of_another_model_are_not_reused(data_dir, tmp_path):
    request = EvalRequest(model="m", data_dir=data_dir, languages=("de", "fr"), run=RunOptions(out_dir=tmp_path / "b", cache=False))
    with pytest.raises(KeyboardInterrupt):
        run_eval(request, adapter=CountingAdapter(fail_on=FR[0]))
    other = CountingAdapter()
    other.fingerprint = "another-model"
    run_eval(request, adapter=other)
    assert any(text in other.encoded for text in DE)


def test_finished_task_with_missing_languages_is_run(data_dir, tmp_path):
    base = dict(model="m", data_dir=data_dir, run=RunOptions(out_dir=tmp_path / "r", cache=False))
    run_eval(EvalRequest(**base, languages=("de",)), adapter=CountingAdapter())
    skipped = run_eval(EvalRequest(**base, languages=("de",)), adapter=CountingAdapter())
    assert skipped.skipped and not skipped.results
    more = run_eval(EvalRequest(**base, languages=("de", "fr")), adapter=CountingAdapter())
    assert set(more.results[0].scores) == {"de", "fr"}
    assert json.loads(more.paths[0].read_text())["task"]["languages"] == ["de", "fr"]


def _eval_in_process(data_dir, out_dir, cache_dir):
    run_eval(
        EvalRequest(model="m", data_dir=data_dir, languages=("de", "fr"), run=RunOptions(out_dir=out_dir, overwrite=True, cache_dir=cache_dir)),
        adapter=CountingAdapter(),
    )


def test_two_processes_write_one_results_folder(data_dir, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_eval_in_process, args=(data_dir, tmp_path / "r", tmp_path / "c")) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    result = TaskResult.from_disk(tmp_path / "r" / "m" / "tatoeba.json")
    assert set(result.scores) == {"de", "fr"}
    assert set(load_items(tmp_path / "r" / "m" / "tatoeba.json")) == {"de", "fr"}
    leftovers = [p.name for p in (tmp_path / "r" / "m").iterdir()]
    assert sorted(leftovers) == ["tatoeba.items.json", "tatoeba.json"]  # no temp files, no partials
