"""`xharness compare`: per-language deltas with paired bootstrap intervals, and what it refuses.

Golden files live in tests/golden/compare/ (regenerate with XHARNESS_UPDATE_GOLDEN=1, review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from test_leaderboard import make_result
from xharness.cli import main
from xharness.errors import XharnessError
from xharness.leaderboard.compare import compare

GOLDEN = Path(__file__).parent / "golden" / "compare"


def tatoeba(model, correct: dict[str, list], **kwargs):
    """A Tatoeba-like result whose main scores come from its per-item outcomes."""
    scores = {}
    for lang, outcomes in correct.items():
        flat = [float(np.mean(x)) if isinstance(x, list) else float(x) for x in outcomes]
        scores[lang] = 100.0 * sum(flat) / len(flat)
    items = {lang: {"predicted": list(range(len(c))), "correct": c} for lang, c in correct.items()}
    return make_result(model, kwargs.pop("task", "tatoeba"), scores, items=items, n=len(next(iter(correct.values()))), **kwargs)


def pattern(n: int, right: int, offset: int = 0) -> list[int]:
    """n outcomes with `right` ones, placed from `offset` (wrapping)."""
    out = [0] * n
    for i in range(right):
        out[(offset + i) % n] = 1
    return out


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def two_models(tmp_path):
    a = tatoeba("base", {"de": pattern(100, 80), "fr": pattern(100, 50), "ja": pattern(100, 60)})
    b = tatoeba("tuned", {"de": pattern(100, 80), "fr": pattern(100, 70, offset=10), "ja": pattern(100, 57, offset=6)})
    a.to_disk(tmp_path)
    b.to_disk(tmp_path)
    return tmp_path / "base", tmp_path / "tuned"


def test_identical_runs_give_zero_and_a_zero_interval(tmp_path):
    outcomes = {"de": pattern(50, 20), "fr": pattern(50, 45)}
    tatoeba("one", outcomes).to_disk(tmp_path)
    tatoeba("two", outcomes).to_disk(tmp_path)
    result = compare(tmp_path / "one", tmp_path / "two", n_resamples=500)
    (task,) = result.tasks
    for row in task.rows + (task.average,):
        assert (row.delta, row.low, row.high, row.significant) == (0.0, 0.0, 0.0, False)


def test_right_on_every_item_the_other_is_wrong_on(tmp_path):
    tatoeba("wrong", {"de": [0] * 40}).to_disk(tmp_path)
    tatoeba("right", {"de": [1] * 40}).to_disk(tmp_path)
    result = compare(tmp_path / "wrong" / "tatoeba.json", tmp_path / "right" / "tatoeba.json", n_resamples=500)
    (row,) = result.tasks[0].rows
    assert (row.score_a, row.score_b, row.delta, row.low, row.high) == (0.0, 100.0, 100.0, 100.0, 100.0)
    assert row.significant and result.tasks[0].average is None


def test_folder_comparison_rows_and_average(two_models):
    a, b = two_models
    result = compare(a, b, n_resamples=2000, seed=0)
    task = result.tasks[0]
    rows = {r.language: r for r in task.rows}
    assert rows["de"].delta == 0.0 and (rows["de"].low, rows["de"].high) == (0.0, 0.0)
    assert rows["fr"].delta == pytest.approx(20.0) and rows["fr"].significant
    assert rows["fr"].low > 0
    assert rows["ja"].delta == pytest.approx(-3.0) and not rows["ja"].significant  # 6 items lost, 3 gained
    assert rows["ja"].low < 0 < rows["ja"].high
    assert task.average.delta == pytest.approx(17 / 3)
    assert task.average.low <= task.average.delta <= task.average.high
    assert result.model_a == "base" and result.model_b == "tuned"


def test_same_inputs_same_seed_same_output(two_models):
    a, b = two_models
    first = run("compare", a, b, "-f", "json", "--resamples", "300")
    again = run("compare", a, b, "-f", "json", "--resamples", "300")
    other = run("compare", a, b, "-f", "json", "--resamples", "300", "--seed", "1")
    assert first.exit_code == 0, first.output
    assert first.output == again.output != other.output


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
def test_golden_outputs(two_models, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)  # relative paths in the output, as a user would type them
    out = tmp_path / f"compare.{fmt}"
    result = run("compare", "base", "tuned", "-f", fmt, "--resamples", "1000", "-o", out)
    assert result.exit_code == 0, result.output
    produced = out.read_text(encoding="utf-8")
    golden = GOLDEN / f"compare.{fmt}"
    if os.environ.get("XHARNESS_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced, encoding="utf-8")
    assert produced == golden.read_text(encoding="utf-8")


def test_text_output_flags_significant_rows(two_models):
    a, b = two_models
    out = run("compare", a, b, "--resamples", "500")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    fr = next(line for line in lines if line.startswith("tatoeba  fr"))
    ja = next(line for line in lines if line.startswith("tatoeba  ja"))
    assert fr.rstrip().endswith("*") and "+20.00" in fr
    assert not ja.rstrip().endswith("*") and "-3.00" in ja
    assert "delta = B - A; 95% paired bootstrap interval (500 resamples, seed 0)" in out.output


# -- per-seed lists, missing and non-reproducing items -----------------------------------------


def test_per_seed_lists_are_averaged_per_item(tmp_path):
    tatoeba("a", {"de": [[1, 1], [1, 0], [0, 0], [0, 0]]}).to_disk(tmp_path)
    tatoeba("b", {"de": [[1, 1], [1, 1], [0, 0], [0, 0]]}).to_disk(tmp_path)
    (row,) = compare(tmp_path / "a", tmp_path / "b", n_resamples=200).tasks[0].rows
    assert (row.score_a, row.score_b, row.delta) == (37.5, 50.0, 12.5) and row.note is None


def test_missing_sidecar_gives_scores_without_an_interval(two_models):
    a, b = two_models
    (b / "tatoeba.items.json").unlink()
    out = run("compare", a, b, "--resamples", "100")
    assert out.exit_code == 0, out.output
    assert "no interval: per-item file missing or unreadable (tatoeba.json)" in out.output
    result = compare(a, b, n_resamples=100)
    assert all(r.low is None and r.delta is not None for r in result.tasks[0].rows)
    assert result.tasks[0].average.note == "no interval: some languages have none"


def test_items_that_do_not_reproduce_the_main_score(tmp_path):
    # Like a classification probe whose sidecar keeps only the first seed of several.
    a = tatoeba("a", {"de": [1, 1, 0, 0]})
    a.scores["de"] = type(a.scores["de"])(main_score=60.0, metrics={"accuracy": 60.0}, n=4)
    a.to_disk(tmp_path)
    tatoeba("b", {"de": [1, 1, 1, 0]}).to_disk(tmp_path)
    (row,) = compare(tmp_path / "a", tmp_path / "b", n_resamples=100).tasks[0].rows
    assert row.low is None and "give 50.0000, not the file's main_score 60.0000" in row.note
    assert row.delta == pytest.approx(15.0)


def test_unregistered_task_has_no_bootstrap(tmp_path):
    # What is resampled comes from the task's declaration; a task not registered here has none.
    make_result("a", "sts", {"de": 80.0}, metric="spearman", items={"de": {"correct": [1]}}).to_disk(tmp_path)
    make_result("b", "sts", {"de": 82.0}, metric="spearman", items={"de": {"correct": [1]}}).to_disk(tmp_path)
    result = compare(tmp_path / "a", tmp_path / "b", n_resamples=100)
    (row,) = result.tasks[0].rows
    assert row.note == "no interval: task 'sts' is not registered here, so its per-item record is unknown"
    assert row.delta == pytest.approx(2.0) and row.low is None and result.tasks[0].unit == "none"


# -- BUCC: F1 over gold pairs and accepted candidates ------------------------------------------


def bucc(model, candidates, n_gold, **kwargs):
    """candidates: (src, tgt, is_gold, accepted); F1 computed the way the BUCC task does."""
    tp = sum(1 for c in candidates if c[2] and c[3])
    accepted = sum(1 for c in candidates if c[3])
    precision = tp / accepted if accepted else 0.0
    recall = tp / n_gold
    f1 = 100 * 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    items = {"de": {
        "src_id": [c[0] for c in candidates], "tgt_id": [c[1] for c in candidates],
        "score": [1.0 - i / 100 for i in range(len(candidates))],
        "correct": [c[2] for c in candidates], "accepted": [c[3] for c in candidates],
    }}
    result = make_result(model, "bucc2018", {"de": f1}, metric="f1", items=items, n=n_gold, **kwargs)
    result.scores["de"] = type(result.scores["de"])(main_score=f1, metrics={"f1": f1, "n_gold": float(n_gold)}, n=n_gold)
    return result


def test_bucc_f1_bootstrap_over_pairs(tmp_path):
    # 4 gold pairs; A finds 2 of them plus 1 wrong pair, B finds 3 and no wrong pair; 1 gold pair mined by neither.
    a = bucc("a", [("s1", "e1", 1, 1), ("s2", "e2", 1, 1), ("s9", "e7", 0, 1), ("s3", "e3", 1, 0)], n_gold=4)
    b = bucc("b", [("s1", "e1", 1, 1), ("s2", "e2", 1, 1), ("s3", "e3", 1, 1), ("s8", "e8", 0, 0)], n_gold=4)
    a.to_disk(tmp_path)
    b.to_disk(tmp_path)
    result = compare(tmp_path / "a", tmp_path / "b", n_resamples=2000)
    task = result.tasks[0]
    (row,) = task.rows
    assert row.score_a == pytest.approx(100 * 4 / 7)  # 2TP / (2TP + FP + FN) = 4 / (4 + 1 + 2)
    assert row.score_b == pytest.approx(100 * 6 / 7)  # 6 / (6 + 0 + 1)
    assert row.note is None and row.low is not None and row.low <= row.delta <= row.high
    assert "gold pairs" in task.unit
    same = compare(tmp_path / "a", tmp_path / "a", n_resamples=200).tasks[0].rows[0]
    assert (same.delta, same.low, same.high) == (0.0, 0.0, 0.0)


def test_bucc_without_gold_or_with_conflicting_gold(tmp_path):
    a = bucc("a", [("s1", "e1", 1, 1)], n_gold=2)
    b = bucc("b", [("s1", "e1", 0, 1)], n_gold=2)
    b.scores["de"] = a.scores["de"]  # keep the scores valid; the gold flag disagrees
    a.to_disk(tmp_path)
    b.to_disk(tmp_path)
    (row,) = compare(tmp_path / "a", tmp_path / "b", n_resamples=100).tasks[0].rows
    assert "gold in one run and not in the other" in row.note


# -- refusals: one clear line ------------------------------------------------------------------


def test_refuses_different_data(tmp_path):
    tatoeba("a", {"de": pattern(10, 5)}, data="full").to_disk(tmp_path)
    tatoeba("b", {"de": pattern(10, 5)}, data="limit200").to_disk(tmp_path)
    out = run("compare", tmp_path / "a", tmp_path / "b")
    assert out.exit_code == 2
    (line,) = out.output.strip().splitlines()
    assert "tatoeba/de: the runs used different data (fingerprint full-de vs limit200-de" in line


def test_refuses_different_protocols_and_versions(tmp_path):
    tatoeba("a", {"de": pattern(10, 5)}, protocol={"main": "top-1", "margin": "ratio"}).to_disk(tmp_path)
    tatoeba("b", {"de": pattern(10, 5)}, protocol={"main": "top-1", "margin": "distance"}).to_disk(tmp_path)
    out = run("compare", tmp_path / "a", tmp_path / "b")
    assert out.exit_code == 2 and "tatoeba: the runs used different protocols (protocol.margin differs)" in out.output
    c = tatoeba("c", {"de": pattern(10, 5)}, protocol={"main": "top-1", "margin": "ratio"})
    c.task["version"] = "2"
    c.to_disk(tmp_path)
    out = run("compare", tmp_path / "a", tmp_path / "c")
    assert out.exit_code == 2 and "the runs differ in task version (1 vs 2)" in out.output


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda p: (p / "a" / "tatoeba.json", p / "b" / "bucc2018.json"), "cannot compare different tasks"),
        (lambda p: (p / "a" / "tatoeba.json", p / "b"), "not one of each"),
        (lambda p: (p / "a", p / "nowhere"), "not found"),
        (lambda p: (p / "a" / "tatoeba.items.json", p / "b" / "tatoeba.items.json"), "not their per-item sidecars"),
        (lambda p: (p / "a", p / "c"), "no task in common"),
        (lambda p: (p / "a", p / "empty"), "no result files"),
    ],
)
def test_bad_pairs(tmp_path, make_args, message):
    tatoeba("a", {"de": pattern(10, 5)}).to_disk(tmp_path)
    tatoeba("b", {"de": pattern(10, 5)}).to_disk(tmp_path)
    tatoeba("b", {"de": pattern(10, 5)}, task="bucc2018").to_disk(tmp_path)
    tatoeba("c", {"de": pattern(10, 5)}, task="sst").to_disk(tmp_path)
    (tmp_path / "empty").mkdir()
    out = run("compare", *make_args(tmp_path))
    assert out.exit_code == 2, out.output
    assert message in out.output and len(out.output.strip().splitlines()) == 1


def test_language_and_task_filters(two_models):
    a, b = two_models
    result = compare(a, b, n_resamples=100, languages=["fr"])
    assert [r.language for r in result.tasks[0].rows] == ["fr"] and result.tasks[0].average is None
    with pytest.raises(XharnessError, match="--lang xx: no compared result has this language"):
        compare(a, b, n_resamples=100, languages=["xx"])
    # One unknown code among known ones is refused too, never silently dropped; LASER's codes are read.
    with pytest.raises(XharnessError, match="--lang xx"):
        compare(a, b, n_resamples=100, languages=["fr", "xx"])
    assert [r.language for r in compare(a, b, n_resamples=100, languages=["fra"]).tasks[0].rows] == ["fr"]


def test_adjustment_is_applied_and_named(two_models):
    a, b = two_models
    holm = compare(a, b, n_resamples=2000)
    none = compare(a, b, n_resamples=2000, adjust="none")
    rows = {r.language: r for r in holm.tasks[0].rows}
    assert holm.adjust == "holm" and none.adjust == "none"
    tested = [r for r in holm.tasks[0].rows if r.p is not None]
    assert tested and all(r.p_adjusted >= r.p for r in tested)
    assert rows["fr"].significant  # +20 points on 100 items survives Holm over 3 languages
    out = run("compare", a, b, "--adjust", "bh", "--resamples", "200")
    assert "Benjamini-Hochberg" in out.output
    with pytest.raises(XharnessError, match="none of the tasks nope"):
        compare(a, b, n_resamples=100, tasks=["nope"])


def test_hostile_names_cannot_drive_the_terminal_or_markdown(tmp_path):
    tatoeba("\x1b[31mred\x1b[0m", {"de": pattern(10, 5)}).to_disk(tmp_path)
    tatoeba("<script>alert(1)</script>|x", {"de": pattern(10, 6)}).to_disk(tmp_path)
    folders = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    text = run("compare", *folders, "--resamples", "50").output
    assert "\x1b" not in text and "?[31mred?[0m" in text
    md = run("compare", *folders, "--resamples", "50", "-f", "md").output
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in md
    data = json.loads(run("compare", *folders, "--resamples", "50", "-f", "json").output)
    assert {data["a"]["model"], data["b"]["model"]} == {"\x1b[31mred\x1b[0m", "<script>alert(1)</script>|x"}
