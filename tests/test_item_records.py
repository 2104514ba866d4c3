"""Per-item declarations: a task says what its per-item outcomes hold and which way is better, and
`compare`/`report` read that declaration instead of guessing from the metric's name.

The tasks below exist only in this file: registered for a test, run through `Task.run` with a
fake model, written with `TaskResult.to_disk`, and compared through the CLI. Nothing under
leaderboard/ knows them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xharness.cli import main
from xharness.leaderboard import units
from xharness.results import LanguageScore, model_slug
from xharness.tasks import TASKS
from xharness.tasks.base import LanguageData, LanguageOutcome, Task
from xharness.tasks.item_records import UNIT_KINDS, ItemField, ItemRecord

TOP = 20


class ReciprocalRank(Task):
    """A toy QA retrieval task scored by mean reciprocal rank (MRR@20): the fake model's one
    embedding dimension is the rank it gives each question's gold answer."""

    name = "toy-mrr"
    version = "1"
    main_metric = "mrr"
    item_record = ItemRecord(
        fields=(
            ItemField("rank", "int", "rank of the gold answer among the candidates (1 = first)"),
            ItemField("rr", "float", f"reciprocal rank of the gold answer, 0 beyond the top {TOP}"),
        ),
        unit="mean", value_field="rr",
    )
    description = "toy MRR@20"
    layout = "none"

    def available_languages(self) -> list[str]:
        return ["de", "sw"]

    def load_language(self, lang: str) -> LanguageData:
        return LanguageData(payload=[f"{lang} question {i}" for i in range(60)], fingerprint=f"toy-{lang}", files=(f"{lang}.txt",))

    def evaluate_language(self, lang, data, embed) -> LanguageOutcome:
        ranks = embed(data)[:, 0].astype(int)
        rr = np.where(ranks <= TOP, 1.0 / ranks, 0.0)
        score = LanguageScore(main_score=100.0 * float(rr.mean()), metrics={"mrr": 100.0 * float(rr.mean())}, n=len(data))
        return LanguageOutcome(score=score, items={"rank": ranks.tolist(), "rr": rr.tolist()})


class ErrorRate(ReciprocalRank):
    """A toy xsim-like task: the share of sentences whose translation is not retrieved (lower is better)."""

    name = "toy-errors"
    main_metric = "error_rate"
    higher_is_better = False
    item_record = ItemRecord(
        fields=(ItemField("error", "int", "1 when the translation is not the nearest neighbour, else 0"),),
        unit="mean", value_field="error", value_label="error",
    )

    def evaluate_language(self, lang, data, embed) -> LanguageOutcome:
        error = (embed(data)[:, 0] > 1).astype(int)
        rate = 100.0 * float(error.mean())
        return LanguageOutcome(LanguageScore(main_score=rate, metrics={"error_rate": rate}, n=len(data)), {"error": error.tolist()})


class Undeclared(ReciprocalRank):
    name = "toy-undeclared"

    def evaluate_language(self, lang, data, embed) -> LanguageOutcome:
        outcome = super().evaluate_language(lang, data, embed)
        return LanguageOutcome(outcome.score, {**outcome.items, "extra": [0] * len(data)})


@pytest.fixture
def toy_tasks(monkeypatch):
    """Register the toy tasks for one test (the registry is restored afterwards)."""
    for cls in (ReciprocalRank, ErrorRate):
        monkeypatch.setitem(TASKS._targets, cls.name, f"{__name__}:{cls.__name__}")


def ranks_model(name: str, good: int):
    """A fake model: the gold answer is first for the first `good` questions, third for the rest."""

    def embed(texts):
        return np.array([[1.0] if i < good else [3.0] for i in range(len(texts))], dtype=np.float32)

    return {"name": name, "slug": model_slug(name), "adapter": "fake", "fingerprint": f"fp-{name}", "options": {}}, embed


def write_runs(task_cls, root: Path, tmp_path: Path) -> None:
    for name, good in (("base", 30), ("tuned", 54)):
        model, embed = ranks_model(name, good)
        task_cls(tmp_path).run(embed, model=model).to_disk(root)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_the_statistics_implement_every_declared_unit():
    assert units.UNIT_KINDS == UNIT_KINDS == tuple(units.STATISTICS)


def test_declarations_are_checked_when_the_class_is_made():
    with pytest.raises(ValueError, match="unknown bootstrap unit 'median'"):
        ItemRecord(fields=(ItemField("rr", "float", "x"),), unit="median", value_field="rr")
    with pytest.raises(ValueError, match="value_field 'rr' is not one of the declared fields"):
        ItemRecord(fields=(ItemField("rank", "int", "x"),), unit="mean", value_field="rr")
    with pytest.raises(ValueError, match="two pair_fields and a gold_count_metric"):
        ItemRecord(fields=(ItemField("c", "int", "x"), ItemField("a", "int", "x")), unit="pair-f1", gold_field="c", accepted_field="a")


def test_the_shipped_tasks_declare_what_they_write():
    tatoeba, bucc, classify = TASKS.get("tatoeba"), TASKS.get("bucc2018"), TASKS.get("classify")
    assert (tatoeba.item_record.unit, tatoeba.item_record.value_field) == ("mean", "correct")
    assert (classify.item_record.unit, classify.item_record.value_field) == ("mean", "correct")
    assert bucc.item_record.unit == "pair-f1" and bucc.item_record.gold_count_metric == "n_gold"
    # The xSIM tasks report error rates; every other shipped task is higher-is-better.
    assert {name for name in TASKS.names() if not TASKS.get(name).higher_is_better} == {"flores", "ntrex"}


def test_run_refuses_items_that_differ_from_the_declaration(tmp_path):
    model, embed = ranks_model("m", 10)
    with pytest.raises(TypeError, match=r"toy-undeclared/de: per-item outcomes do not match item_record: undeclared extra"):
        Undeclared(tmp_path).run(embed, model=model)


def test_a_new_task_gets_compare_with_intervals(toy_tasks, tmp_path):
    root = tmp_path / "results"
    write_runs(ReciprocalRank, root, tmp_path)
    out = run("compare", root / "base", root / "tuned", "-f", "json", "--resamples", "500")
    assert out.exit_code == 0, out.output
    (task,) = json.loads(out.output)["tasks"]
    assert task["task"] == "toy-mrr" and task["resampled_units"] == "items (per-item 'rr'; per-seed lists averaged per item)"
    assert "higher_is_better" not in task
    for row in task["languages"]:
        # 30 vs 54 of 60 questions answered first, the rest third: MRR 66.67 vs 93.33.
        assert row["score_a"] == pytest.approx(100 * (30 + 30 / 3) / 60) and row["score_b"] == pytest.approx(100 * (54 + 6 / 3) / 60)
        assert row["note"] is None and 0 < row["low"] <= row["delta"] <= row["high"] and row["significant"]
    assert task["average"]["low"] is not None


def test_a_lower_is_better_task_reads_the_right_way_round(toy_tasks, tmp_path):
    root = tmp_path / "results"
    write_runs(ErrorRate, root, tmp_path)
    text = run("compare", root / "base", root / "tuned", "--resamples", "500")
    assert text.exit_code == 0, text.output
    assert "toy-errors: lower is better: a negative delta is a gain" in text.output
    (task,) = json.loads(run("compare", root / "base", root / "tuned", "-f", "json", "--resamples", "500").output)["tasks"]
    assert task["higher_is_better"] is False
    de = task["languages"][0]
    assert (de["score_a"], de["score_b"], de["delta"]) == (50.0, 10.0, -40.0) and de["high"] < 0 and de["significant"]

    out = tmp_path / "report"
    made = run("report", root, "--baseline", "base", "--resamples", "500", "-o", out, "--figures", "svg")
    assert made.exit_code == 0, made.output
    assert (out / "report-task-toy-errors.svg").stat().st_size > 0  # matplotlib draws the turned scale too
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["tasks"][0]["higher_is_better"] is False
    assert data["tasks"][0]["resampled_units"] == "items (per-item error; per-seed lists averaged per item)"
    cell = data["checkpoints"][0]["tasks"]["toy-errors"]["languages"]["de"]
    assert cell["delta"] == -40.0 and cell["high"] < 0 and cell["significant"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Lower is better on this task: a negative delta is a gain." in md
    assert "lower is better on toy-errors: there a negative delta is a gain" in md
    # The heatmap draws the fall in errors as a gain: blue (the positive end of the scale), not red.
    html = (out / "report.html").read_text(encoding="utf-8")
    from xharness.leaderboard.heatmaps import colour

    fills = re.findall(r'<g class="cell[^"]*"[^>]*data-delta="(-?[0-9.]+)"><title>[^<]*</title><rect [^>]*fill="(#[0-9a-f]{6})"', html)
    assert fills and all(delta == "-40.0" and fill == colour(40.0, 40) for delta, fill in fills)
    assert "gain (delta, sign turned where lower is better) (points)" in html


def test_mixed_directions_get_no_overall_mean(toy_tasks, tmp_path):
    root = tmp_path / "results"
    write_runs(ReciprocalRank, root, tmp_path)
    write_runs(ErrorRate, root, tmp_path)
    made = run("report", root, "--baseline", "base", "--resamples", "300", "-f", "json")
    assert made.exit_code == 0, made.output
    data = json.loads(made.output)
    (checkpoint,) = data["checkpoints"]
    assert checkpoint["overall"] is None and set(checkpoint["tasks"]) == {"toy-errors", "toy-mrr"}
    assert all(t["mean"]["low"] is not None for t in checkpoint["tasks"].values())
    assert "no overall mean: the tasks do not agree on whether higher is better" in data["notes"]
