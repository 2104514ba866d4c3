"""`hf:` data streamed (`IterableDataset`) vs map-style (a prepared Arrow copy): the same numbers and items for
every hub reader, `--limit` stopping the pull, and provenance that says a stream was read.

Every data set is built with `datasets` in hub layout (tests/hub_fixtures.py) from made-up sentences.
"""

from __future__ import annotations

import pytest

from fakes import CharNgramAdapter
from hub_fixtures import hub_folder
from test_hub_classification import (
    PAWSX, SENTIMENT, STARS, pair_rows, pawsx_configs, pawsx_features, split_of, xnli_configs, xnli_features,
)
from test_hub_data import MTEB
from test_hub_retrieval import FLORES, _flores_configs, _gold_rows, _xtreme_tatoeba, GERMAN, ENGLISH
from xharness.hub_data import HubDataset
from xharness.hub_reference import parse_reference
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval

datasets = pytest.importorskip("datasets")


def _run(tmp_path, name, task, data_dir, *, stream, languages=("all",), limit=None, **options):
    out = tmp_path / name
    request = EvalRequest(model="char", tasks=(task,), languages=tuple(languages), data_dir=data_dir, limit=limit,
                          task_options=options, run=RunOptions(out_dir=out, cache=False, stream=stream))
    run_eval(request, adapter=CharNgramAdapter(64))
    path = out / "char" / f"{task}.json"
    return TaskResult.from_disk(path), load_items(path)


def _same(mapped, streamed):
    (a, items_a), (b, items_b) = mapped, streamed
    assert a.scores and {k: s.metrics for k, s in a.scores.items()} == {k: s.metrics for k, s in b.scores.items()}
    assert {k: s.n for k, s in a.scores.items()} == {k: s.n for k, s in b.scores.items()}
    assert items_a == items_b
    assert a.task["data_fingerprint"] == b.task["data_fingerprint"]  # the content's, whatever the reading
    assert "streamed" not in a.task["data_source"]["source"] and b.task["data_source"]["source"]["streamed"] is True


def _both(tmp_path, task, data_dir, **options):
    return [_run(tmp_path, f"{task}-{name}", task, data_dir, stream=stream, **options) for name, stream in (("map", False), ("stream", True))]


def _hub_records(result, lang):
    hub = result.task["data_files"][lang]["hub"]
    return [hub] if "config" in hub else list(hub.values())


def test_retrieval_readers_give_the_same_items_streamed_and_map_style(tmp_path):
    tatoeba = hub_folder(tmp_path / "t", "mteb/tatoeba-bitext-mining", MTEB)
    mapped, streamed = _both(tmp_path, "tatoeba", f"hf:{tatoeba}", languages=("de", "fr"))
    _same(mapped, streamed)
    record = streamed[0].task["data_files"]["de"]["hub"]
    assert (record["streamed"], record["rows"], record["rows_read"], record["source"]) == (True, 4, 4, "folder")
    assert len(record["fingerprint"]) == 64 and "sizes" in record["fingerprint_of"]
    assert "streamed" not in mapped[0].task["data_files"]["de"]["hub"] and mapped[0].task["data_files"]["de"]["hub"]["rows"] == 4

    dev, test = _gold_rows(8, 1, seed=1), _gold_rows(10, 100, seed=2)
    bucc = hub_folder(tmp_path / "b", "google/xtreme", {
        "bucc18.de": {split: {"source_sentence": rows[2], "target_sentence": rows[3], "source_lang": rows[0], "target_lang": rows[1]}
                      for split, rows in (("validation", dev), ("test", test))},
        **_xtreme_tatoeba({"deu": (GERMAN, ENGLISH)}),
    })
    mapped, streamed = _both(tmp_path, "bucc2018", f"hf:{bucc}", languages=("de",))
    _same(mapped, streamed)
    assert [(r["split"], r["rows"], r["streamed"]) for r in _hub_records(streamed[0], "de")] == [("validation", 8, True), ("test", 10, True)]

    flores = hub_folder(tmp_path / "f", "openlanguagedata/flores_plus", _flores_configs(FLORES))
    _same(*_both(tmp_path, "flores", f"hf:{flores}", languages=("de", "fr")))


def test_mteb_bucc_listed_layout_reads_without_random_access(tmp_path):
    from xharness.tasks.bucc import Bucc2018

    _, _, src, en = _gold_rows(6, 1, seed=3)
    listed = hub_folder(tmp_path / "listed", "mteb/bucc-bitext-mining", {"de-en": {"test": {
        "sentence1": [src], "sentence2": [en], "gold": [[[i, i] for i in range(1, 7)]]}}})
    loaded = []
    for stream in (False, True):
        task = Bucc2018(f"hf:{listed}")
        task.hub.set_stream(stream)
        loaded.append(task.load(["de"])["de"])
    assert loaded[0].payload == loaded[1].payload and loaded[0].fingerprint == loaded[1].fingerprint


def test_classification_readers_give_the_same_items_streamed_and_map_style(tmp_path):
    paws = hub_folder(tmp_path / "p", "google-research-datasets/paws-x", pawsx_configs(), features={c: pawsx_features() for c in ("en", "de")})
    _same(*_both(tmp_path, "pawsx", f"hf:{paws}", seeds=2))
    xnli = hub_folder(tmp_path / "x", "facebook/xnli", xnli_configs(), features={c: xnli_features() for c in ("en", "sw", "th")})
    mapped, streamed = _both(tmp_path, "xnli", f"hf:{xnli}", seeds=2)
    _same(mapped, streamed)
    assert streamed[0].task["data_files"]["sw"]["hub"]["test"]["columns"] == {"sentence1": "premise", "sentence2": "hypothesis", "label": "label"}
    # The generic rule with a language column: the languages are found by reading that column in batches.
    rows = {split: [(t, y, name.split("-")[1]) for name, items in SENTIMENT.items() if name.startswith(prefix) for t, y in items]
            for split, prefix in (("train", "train"), ("validation", "dev"), ("test", "test"))}
    columns = {split: {"text": [r[0] for r in items], "label": [r[1] for r in items], "idioma": [r[2] for r in items]} for split, items in rows.items()}
    features = datasets.Features({"text": datasets.Value("string"), "label": STARS, "idioma": datasets.Value("string")})
    mixed = hub_folder(tmp_path / "m", "someone/mixed", {"all": columns}, features={"all": features})
    _same(*_both(tmp_path, "sst", f"hf:{mixed}", lang_column="idioma", seeds=2))


def test_limit_stops_the_stream_after_the_rows_it_needs(tmp_path):
    from xharness.tasks.classification import PawsX

    configs = pawsx_configs()
    configs["de"]["test"] = {"id": list(range(1, 601)), **split_of({"t": pair_rows(600, tag="test de", seed=7)}, "t")}
    folder = hub_folder(tmp_path / "p", "google-research-datasets/paws-x", configs, features={c: pawsx_features() for c in configs})
    task = PawsX(f"hf:{folder}", limit=5)
    task.hub.batch_size = 8
    assert task.hub.streaming
    data = task.load(["de"])["de"]
    assert len(data.payload) == 5
    tally = task.hub._tallies[("de", "test")]
    assert tally.passes == [8] and not tally.complete  # one batch of 8 pulled out of 600 rows, then the reading stopped
    assert task.hub._tallies[("en", "train")].complete  # the probe's training split is read whole
    test = data.summary["hub"]["test"]
    assert (test["rows"], test["rows_read"], test["streamed"]) == (None, 8, True)
    # The same five items, the same fingerprint, as map-style with --limit.
    mapped = PawsX(f"hf:{folder}", limit=5)
    mapped.hub.set_stream(False)
    assert mapped.load(["de"])["de"].payload == data.payload and mapped.load(["de"])["de"].fingerprint == data.fingerprint


def test_the_stream_api_answers_as_map_style_does(tmp_path):
    folder = hub_folder(tmp_path / "p", "google-research-datasets/paws-x", pawsx_configs(), features={c: pawsx_features() for c in ("en", "de")})
    streamed, mapped = HubDataset(parse_reference(f"hf:{folder}")), HubDataset(parse_reference(f"hf:{folder}"), stream=False)
    assert streamed.streaming and not mapped.streaming and streamed.kind == "folder"
    for hub in (streamed, mapped):
        assert hub.columns("en", "train") == ["id", "sentence1", "sentence2", "label"]
        assert hub.feature_names("en", "train", "label") == ["0", "1"]
        assert hub.column("en", "train", "sentence1", limit=3) == [r[0] for r in PAWSX["train-en"][:3]]
        assert [len(b["label"]) for b in hub.rows("en", "train", ("label",), limit=10, batch_size=4)] == [4, 4, 2]
    assert streamed.provenance("en", "train")["rows"] is None  # no pass reached the end yet
    before = streamed.provenance("en", "train")["fingerprint"]
    (folder / "README.md").write_text((folder / "README.md").read_text() + "\n", encoding="utf-8")
    assert streamed.provenance("en", "train")["fingerprint"] != before  # the files' sizes and times identify a stream
    from pathlib import Path

    from xharness.hub_data import _folder_cache

    assert not Path(_folder_cache(folder)).exists()  # streamed: no Arrow copy was prepared
    # save_to_disk and the offline cache are memory-mapped already: never streamed, even when asked.
    from hub_fixtures import save_to_disk_folder

    disk = HubDataset(parse_reference(f"hf:{save_to_disk_folder(tmp_path / 'disk', {'test': {'text': ['a']}})}"), stream=True)
    assert disk.kind == "save_to_disk" and not disk.streaming and disk.provenance(None, "test")["rows"] == 1


def test_eval_offers_stream_and_no_stream():
    from click.testing import CliRunner

    from xharness.cli import main

    shown = CliRunner().invoke(main, ["eval", "--help"]).output
    assert "--stream / --no-stream" in shown
