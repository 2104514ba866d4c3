"""The classification tasks: every data layout, bad input, the probe protocol end to end, the CLI."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fakes import CharNgramAdapter, LookupAdapter
from xharness.cli import main
from xharness.embedding import Embedder
from xharness.errors import XharnessError
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval
from xharness.tasks import TASKS
from xharness.tasks.classification import Classify, PawsX, Sentiment, Xnli

WORDS = "cat dog house tree car river sun moon bird fish road lamp".split()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tsv(rows, header=None):
    lines = (["\t".join(header)] if header else []) + ["\t".join(map(str, r)) for r in rows]
    return "".join(line + "\n" for line in lines)


def jsonl(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def pairs(n, *, tag, seed=0):
    """(sentence1, sentence2, label) rows: label 1 when the second sentence repeats the first."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = f"{tag} {i} " + " ".join(rng.choice(WORDS, 4))
        b = a if i % 2 else f"{tag} {i} " + " ".join(rng.choice(WORDS, 4))
        rows.append((a, b, i % 2))
    return rows


def sentences(n, *, tag):
    return [(f"{tag} {i} " + ("good fine nice" if i % 2 else "bad awful poor"), "pos" if i % 2 else "neg") for i in range(n)]


def xtreme_pawsx(root, *, n_train=24, langs=("en", "de")):
    folder = root / "pawsx"
    write(folder / "train-en.tsv", tsv(pairs(n_train, tag="train")))
    write(folder / "dev-en.tsv", tsv(pairs(8, tag="dev", seed=1)))
    for k, lang in enumerate(langs):
        write(folder / f"test-{lang}.tsv", tsv(pairs(10, tag=f"test {lang}", seed=2 + k)))
    return folder


def one_line(exc_info):
    message = str(exc_info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------------
# Layouts.


def test_registry_and_listing():
    assert TASKS.get("sentiment") is Sentiment and TASKS.get("sst") is Sentiment
    assert TASKS.get("pawsx") is PawsX and TASKS.get("xnli") is Xnli and TASKS.get("classify") is Classify
    listing = CliRunner().invoke(main, ["tasks"])
    assert listing.exit_code == 0
    for name in ("sst", "pawsx", "xnli", "classify"):
        assert f"\n{name}  (main score: accuracy" in listing.output
    assert "x-final/{lang}" in listing.output and "multinli.train.en.tsv" in listing.output


def test_xtreme_pawsx_layout(tmp_path):
    xtreme_pawsx(tmp_path)
    task = PawsX(tmp_path)
    assert task.available_languages() == ["de", "en"]
    loaded = task.load()
    test = loaded["de"].payload
    assert len(test) == 10 and test.texts[0][0].startswith("test de 0") and test.labels[:2] == ("0", "1")
    train, dev = task.english()
    assert len(train) == 24 and len(dev) == 8
    assert loaded["de"].files == ("pawsx/train-en.tsv", "pawsx/dev-en.tsv", "pawsx/test-de.tsv")
    assert loaded["de"].fingerprint != loaded["en"].fingerprint


def test_xtreme_test_file_without_labels_is_named(tmp_path):
    folder = xtreme_pawsx(tmp_path)
    write(folder / "test-de.tsv", "a b\tc d\n")
    with pytest.raises(XharnessError) as exc:
        PawsX(tmp_path).load(["de"])
    assert "line 1 has 2 tab-separated fields, expected 3" in one_line(exc) and "removed test labels" in str(exc.value)


def test_pawsx_release_layout_skips_empty_rows(tmp_path):
    header = ["id", "sentence1", "sentence2", "label"]
    rows = [(i, a, b, label) for i, (a, b, label) in enumerate(pairs(20, tag="train"))]
    write(tmp_path / "x-final" / "en" / "train.tsv", tsv(rows + [(32035, "", "", 0)], header))
    write(tmp_path / "x-final" / "en" / "dev_2k.tsv", tsv([(i, a, b, l) for i, (a, b, l) in enumerate(pairs(6, tag="dev"))], header))
    for lang in ("en", "de", "ja"):
        write(tmp_path / "x-final" / lang / "test_2k.tsv", tsv([(i, a, b, l) for i, (a, b, l) in enumerate(pairs(6, tag=lang))], header))
    write(tmp_path / "x-final" / "de" / "translated_train.tsv", tsv([(1, "x", "y", "7")], header))  # never read
    task = PawsX(tmp_path)
    assert task.available_languages() == ["de", "en", "ja"]
    assert len(task.load(["ja"])["ja"].payload) == 6
    train, dev = task.english()
    assert len(train) == 20 and train.skipped == 1 and len(dev) == 6


def test_xtreme_xnli_layout_maps_contradictory(tmp_path):
    labels = ["entailment", "neutral", "contradictory"]
    train = [(f"premise {i}", f"hypothesis {i}", labels[i % 3]) for i in range(12)]
    write(tmp_path / "xnli" / "train-en.tsv", tsv(train))
    write(tmp_path / "xnli" / "test-sw.tsv", tsv([(f"p {i}", f"h {i}", ["entailment", "neutral", "contradiction"][i % 3]) for i in range(6)]))
    task = Xnli(tmp_path)
    assert task.load()["sw"].payload.labels[2] == "contradiction"
    assert sorted(set(task.english()[0].labels)) == ["contradiction", "entailment", "neutral"]
    assert task.english()[1] is None


def test_xnli_release_layout(tmp_path):
    header = ["language", "gold_label", "sentence1_binary_parse", "sentence1", "sentence2", "pairID"]
    test_rows = [(lang, ["entailment", "neutral", "contradiction"][i % 3], "( x )", f"{lang} p {i}", f"{lang} h {i}", i)
                 for lang in ("en", "de", "th") for i in range(6)]
    write(tmp_path / "XNLI-1.0" / "xnli.test.tsv", tsv(test_rows, header))
    write(tmp_path / "XNLI-1.0" / "xnli.dev.tsv", tsv([r for r in test_rows if r[0] == "en"], header))
    # The release ships .jsonl copies too; the .tsv is read and the copy is not a second source.
    write(tmp_path / "XNLI-1.0" / "xnli.test.jsonl", jsonl([{"language": r[0], "gold_label": r[1], "sentence1": r[3], "sentence2": r[4]} for r in test_rows]))
    write(tmp_path / "XNLI-MT-1.0" / "multinli" / "multinli.train.en.tsv",
          tsv([(f"mp {i}", f"mh {i}", ["entailment", "neutral", "contradictory"][i % 3]) for i in range(9)], ["premise", "hypo", "label"]))
    task = Xnli(tmp_path)
    assert task.available_languages() == ["de", "en", "th"]
    th = task.load(["th"])["th"].payload
    assert th.texts[0][0] == "th p 0" and th.texts[1][0] == "th h 0" and len(th) == 6
    assert "language 'th'" in th.source
    train, dev = task.english()
    assert len(train) == 9 and "contradiction" in train.labels and len(dev) == 6


@pytest.mark.parametrize("fmt", ["tsv", "jsonl", "parquet"])
def test_generic_layout_per_language_files(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    folder = tmp_path / "sentiment"
    folder.mkdir()
    splits = {"train-en": sentences(10, tag="tr"), "validation-en": sentences(4, tag="dv"), "test-es": sentences(6, tag="es")}
    for name, rows in splits.items():
        records = [{"id": i, "sentence": t, "label": 1 if y == "pos" else 0} for i, (t, y) in enumerate(rows)]
        if fmt == "tsv":
            write(folder / f"{name}.tsv", tsv([(r["id"], r["sentence"], r["label"]) for r in records], ["id", "sentence", "label"]))
        elif fmt == "jsonl":
            write(folder / f"{name}.jsonl", jsonl(records))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(records), folder / f"{name}.parquet")
    task = Sentiment(tmp_path)
    test = task.load()["es"].payload
    assert len(test) == 6 and test.labels[:2] == ("0", "1") and test.texts[0][1] == "es 1 good fine nice"
    assert len(task.english()[1]) == 4


def test_generic_single_file_with_language_column(tmp_path):
    rows = [{"text": f"{lang} {i}", "label": ["x", "y"][i % 2], "lang": lang} for lang in ("en", "fi", "hu") for i in range(4)]
    write(tmp_path / "test.jsonl", jsonl(rows))
    write(tmp_path / "train.tsv", tsv([(f"t {i}", ["x", "y"][i % 2]) for i in range(6)], ["text", "label"]))  # no lang: English
    task = Classify(tmp_path)
    assert task.available_languages() == ["en", "fi", "hu"]
    assert [t for t in task.load(["hu"])["hu"].payload.texts[0]] == ["hu 0", "hu 1", "hu 2", "hu 3"]
    assert task.canonical_language("fin") == "fi"


def write_save_to_disk(folder, splits, *, names=None):
    """A `DatasetDict.save_to_disk` folder, written by `datasets` itself (label a ClassLabel when `names`)."""
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names) if names else datasets.Value("int64")})
    columns = lambda records: {key: [r[key] for r in records] for key in ("text", "label")}  # noqa: E731
    datasets.DatasetDict({split: datasets.Dataset.from_dict(columns(rows), features=features) for split, rows in splits.items()}).save_to_disk(str(folder))


def test_save_to_disk_folder_with_class_labels(tmp_path):
    rows = lambda tag, n: [{"text": f"{tag} {i}", "label": i % 2} for i in range(n)]  # noqa: E731
    write_save_to_disk(
        tmp_path / "ds",
        {"train": rows("tr", 8), "validation": rows("dv", 4), "test_de": rows("de", 5), "test_en": rows("en", 3)},
        names=["negative", "positive"],
    )
    task = Sentiment(tmp_path / "ds")
    assert task.available_languages() == ["de", "en"]
    de = task.load(["de"])["de"]
    assert de.payload.labels[:2] == ("negative", "positive")
    assert de.files == ("train/data-00000-of-00001.arrow", "validation/data-00000-of-00001.arrow", "test_de/data-00000-of-00001.arrow")


def test_parquet_with_datasets_metadata_names_its_labels(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    features = {"premise": {"dtype": "string", "_type": "Value"}, "hypothesis": {"dtype": "string", "_type": "Value"},
                "label": {"names": ["entailment", "neutral", "contradiction"], "_type": "ClassLabel"}}
    metadata = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    for name, n in (("train-en", 9), ("test-bg", 3)):
        table = pa.Table.from_pylist([{"premise": f"{name} p{i}", "hypothesis": f"h{i}", "label": i % 3} for i in range(n)])
        pq.write_table(table.replace_schema_metadata(metadata), write(tmp_path / f"{name}.parquet", "").parent / f"{name}.parquet")
    assert Xnli(tmp_path).load()["bg"].payload.labels == ("entailment", "neutral", "contradiction")


# ---------------------------------------------------------------------------------------------
# Bad input: one line each.


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: write(d / "pawsx" / "test-de.tsv", tsv([("a", "b", 0), ("c", "d", 7)])), "line 2 has label '7', which never occurs in the English training split"),
        (lambda d: write(d / "pawsx" / "test-de.tsv", "sentence1\tsentence2\tlabel\n"), "the test split is empty"),
        (lambda d: write(d / "pawsx" / "test-de.tsv", "\t\t1\n\t\t0\n"), "all 2 rows have an empty text"),
        (lambda d: write(d / "pawsx" / "test-de.tsv", "sentence1\tsentence2\tscore\na\tb\t1\n"), "no label column (accepted names: label, gold_label"),
        (lambda d: write(d / "pawsx" / "test-de.tsv", "premise\tlabel\na\t1\n"), "no 'sentence2' column"),
        (lambda d: (d / "pawsx" / "train-en.tsv").unlink(), "no English training split for pawsx"),
        (lambda d: write(d / "pawsx" / "dev-en.tsv", tsv([("a", "b", "maybe")])), "dev-en.tsv: line 1 has label 'maybe'"),
        (lambda d: write(d / "pawsx" / "train-en.tsv", tsv([("a", "b", 1), ("c", "d", 1)])), "has a single label ('1')"),
        (lambda d: write(d / "pawsx" / "test-de.jsonl", jsonl([{"sentence1": "a", "sentence2": "b", "label": 0}])), "two sources for the test split of 'de'"),
        (lambda d: write(d / "pawsx" / "test-de.tsv", "a\tb\t\n"), "line 1 has an empty label"),
        (lambda d: write(d / "pawsx" / "test-xx.jsonl", "{not json}\n"), "line 1 is not valid JSON"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, make, message):
    xtreme_pawsx(tmp_path)
    make(tmp_path)
    with pytest.raises(XharnessError) as exc:
        PawsX(tmp_path).load(["all"])
    assert message in one_line(exc)


def test_undecodable_test_file_names_the_line(tmp_path):
    folder = xtreme_pawsx(tmp_path)
    (folder / "test-de.tsv").write_bytes(b"a\tb\t1\n\xff\xfe\tc\t0\n")
    with pytest.raises(XharnessError) as exc:
        PawsX(tmp_path).load(["de"])
    assert "test-de.tsv: line 2 is not valid UTF-8" in one_line(exc)


def test_option_and_folder_errors(tmp_path):
    xtreme_pawsx(tmp_path)
    with pytest.raises(XharnessError, match="--seeds must be at least 1"):
        PawsX(tmp_path, seeds=0)
    with pytest.raises(XharnessError, match="smaller than the number of labels"):
        PawsX(tmp_path, probe_train_size=1).load(["de"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(XharnessError, match="no pawsx data found"):
        PawsX(tmp_path / "empty").load()
    with pytest.raises(XharnessError, match="no pawsx data for language 'ko'"):
        PawsX(tmp_path).load(["ko"])
    with pytest.raises(XharnessError, match="needs a language in its name"):
        write(tmp_path / "s" / "test.tsv", tsv([("a", "x")], ["text", "label"]))
        write(tmp_path / "s" / "train-en.tsv", tsv([("a", "x"), ("b", "y")], ["text", "label"]))
        Sentiment(tmp_path / "s").load()


# ---------------------------------------------------------------------------------------------
# The protocol, end to end with fake models.


# Exact (cos, sin): at 90 degrees the English axis must be exactly empty.
TURNS = {0: (1.0, 0.0), 45: (np.sqrt(0.5), np.sqrt(0.5)), 90: (0.0, 1.0), 180: (-1.0, 0.0)}


def rotated_languages(root):
    """A single-sentence set whose other languages are English turned by 45, 90 and 180 degrees.

    English lives on the first axis (the second is constant, so the probe gives it no weight);
    a language turned by theta keeps cos(theta) of the English signal on the probe's axis.
    """
    rng = np.random.default_rng(0)
    vectors, files = {}, {}

    def item(text, label, angle=0):
        x = (-2.0 if label == "neg" else 2.0) + 0.4 * rng.standard_normal()
        c, s = TURNS[angle]
        vectors[text] = np.array([c * x, s * x], dtype=np.float32)
        return text, label

    labels = ["neg", "pos"] * 20
    files["train-en"] = [item(f"train {i}", y) for i, y in enumerate(labels)]
    files["dev-en"] = [item(f"dev {i}", y) for i, y in enumerate(labels[:10])]
    for lang, angle in (("en", 0), ("de", 45), ("fr", 90), ("ja", 180)):
        files[f"test-{lang}"] = [item(f"{lang} {i}", y, angle) for i, y in enumerate(labels)]
    for name, rows in files.items():
        write(root / f"{name}.tsv", tsv(rows, ["text", "label"]))
    return vectors


def test_rotated_copies_of_english_show_the_drop_per_language(tmp_path):
    vectors = rotated_languages(tmp_path / "data")
    out = tmp_path / "results"
    run_eval(
        EvalRequest(model="toy", tasks=("classify",), data_dir=tmp_path / "data", task_options={"seeds": 3, "probe_train_size": 20}, run=RunOptions(out_dir=out)),
        adapter=LookupAdapter(vectors),
    )
    result = TaskResult.from_disk(out / "toy" / "classify.json")
    acc = {lang: s.main_score for lang, s in result.scores.items()}
    # 45 degrees keeps every item on its side; 90 leaves nothing to go on (one class for all: half
    # right); 180 puts every item on the wrong side.
    assert acc == {"de": 100.0, "en": 100.0, "fr": 50.0, "ja": 0.0}
    assert result.scores["en"].metrics["macro_f1"] == 100.0 and result.scores["en"].n == 40
    assert result.config["seeds"] == 3 and result.task["protocol"]["train_size_per_seed"] == [20, 20, 20]
    assert result.task["protocol"]["c_selection"].startswith("best accuracy on the English dev split")


def test_seeds_change_the_sampling_not_the_test_set(tmp_path):
    root = tmp_path / "data"
    xtreme_pawsx(root, n_train=60)
    runs = {}
    for seeds in (1, 4):
        out = tmp_path / f"r{seeds}"
        run_eval(
            EvalRequest(model="m", tasks=("pawsx",), data_dir=root, task_options={"seeds": seeds, "probe_train_size": 16}, run=RunOptions(out_dir=out)),
            adapter=CharNgramAdapter(64),
        )
        runs[seeds] = (TaskResult.from_disk(out / "m" / "pawsx.json"), load_items(out / "m" / "pawsx.json"))
    (one, one_items), (four, four_items) = runs[1], runs[4]
    for lang in ("de", "en"):
        assert one.scores[lang].n == four.scores[lang].n == 10
        assert one_items[lang]["gold"] == four_items[lang]["gold"]
        assert one_items[lang]["predicted"] == four_items[lang]["predicted"]  # seed 0 is the first seed of both
        assert one.scores[lang].metrics["accuracy_std"] == 0.0
    assert four.task["protocol"]["seeds"] == [0, 1, 2, 3] and len(four.task["protocol"]["chosen_c"]) == 4


def test_english_is_embedded_once_and_probes_are_reused(tmp_path):
    xtreme_pawsx(tmp_path, langs=("en", "de", "fr", "es"))
    seen: list[str] = []

    class Counting(CharNgramAdapter):
        def encode(self, texts, *, batch_size=32):
            seen.extend(texts)
            return super().encode(texts, batch_size=batch_size)

    task = PawsX(tmp_path, seeds=3)
    task.run(Embedder(Counting(32)), model={"name": "m", "slug": "m", "adapter": "fake", "fingerprint": "f"})
    train_texts = [t for t in seen if t.startswith("train ")]
    assert train_texts and len(train_texts) == len(set(train_texts))
    # Without --probe-train-size every seed trains on the same data with the same dev: one fit.
    assert task._probes[0] is task._probes[1] is task._probes[2]


def test_sidecar_items_and_limit(tmp_path):
    xtreme_pawsx(tmp_path)
    out = tmp_path / "out"
    run_eval(EvalRequest(model="m", tasks=("pawsx",), data_dir=tmp_path, limit=4, task_options={"seeds": 2}, run=RunOptions(out_dir=out)), adapter=CharNgramAdapter(64))
    items = load_items(out / "m" / "pawsx.json")["de"]
    assert set(items) == {"predicted", "gold", "correct"} and len(items["gold"]) == 4
    assert [c[0] for c in items["correct"]] == [int(p == g) for p, g in zip(items["predicted"], items["gold"])]
    assert all(len(c) == len(items["correct"][0]) for c in items["correct"])  # one outcome per seed
    result = TaskResult.from_disk(out / "m" / "pawsx.json")
    assert result.task["protocol"]["dev"]["n"] == 4 and result.task["protocol"]["train"]["n_available"] == 24


# ---------------------------------------------------------------------------------------------
# The command line with a real (tiny) model.


def test_cli_eval_pawsx_writes_mean_and_std_per_language(tmp_path, tiny_bert_dir):
    xtreme_pawsx(tmp_path / "data")
    out = tmp_path / "results"
    args = ["eval", str(tiny_bert_dir), "-t", "pawsx", "--data-dir", str(tmp_path / "data"), "-o", str(out),
            "--seeds", "3", "--probe-train-size", "12"]
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0, run.output
    data = json.loads((out / "tiny-bert" / "pawsx.json").read_text(encoding="utf-8"))
    assert data["task"]["name"] == "pawsx" and data["task"]["main_metric"] == "accuracy"
    assert set(data["scores"]) == {"de", "en"}
    for entry in data["scores"].values():
        assert entry["main_score"] == entry["accuracy"] and entry["n"] == 10
        assert {"accuracy_std", "macro_f1", "macro_f1_std"} <= set(entry)
        assert 0.0 <= entry["accuracy"] <= 100.0 and entry["accuracy_std"] >= 0.0
    assert data["config"]["seeds"] == 3 and data["config"]["probe_train_size"] == 12
    assert "accuracy_std" in run.output and "pawsx | tiny-bert" in run.output
    items = json.loads((out / "tiny-bert" / "pawsx.items.json").read_text(encoding="utf-8"))
    assert set(items["languages"]["de"]) == {"predicted", "gold", "correct"}


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    folder = xtreme_pawsx(tmp_path)
    write(folder / "test-de.tsv", tsv([("a", "b", "2")]))
    run = CliRunner().invoke(main, ["eval", "whatever", "-t", "pawsx", "--data-dir", str(tmp_path), "-o", str(tmp_path / "o")])
    assert run.exit_code == 2
    assert run.output.strip().count("\n") == 0 and "never occurs in the English training split" in run.output


def test_baselines_and_label_counts_are_hand_computed(tmp_path):
    """Train: 3 neg, 2 pos (majority neg); test de: 1 neg, 3 pos -> majority 25, chance 50."""
    root = tmp_path / "data"
    write(root / "train-en.tsv", tsv([("a bad one", "neg"), ("b bad", "neg"), ("c bad", "neg"), ("d good", "pos"), ("e good", "pos")], ["text", "label"]))
    write(root / "test-de.tsv", tsv([("f bad", "neg"), ("g good", "pos"), ("h good", "pos"), ("i good", "pos")], ["text", "label"]))
    out = tmp_path / "r"
    run_eval(EvalRequest(model="m", tasks=("classify",), data_dir=root, languages=("de",), task_options={"seeds": 1},
                         run=RunOptions(out_dir=out, cache=False)), adapter=CharNgramAdapter(32))
    result = TaskResult.from_disk(out / "m" / "classify.json")
    metrics = result.scores["de"].metrics
    assert metrics["majority_baseline"] == 25.0 and metrics["chance_baseline"] == 50.0 and metrics["unpredictable_share"] == 0.0
    assert result.task["data_files"]["de"]["labels"] == {"neg": 1, "pos": 3}
