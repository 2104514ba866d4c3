"""`xharness export`: MTEB result files (checked against mteb's TaskResult schema) and the long table."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_leaderboard_groups import DEMO_SOURCE, laser, tatoeba
from xharness.cli import main
from xharness.leaderboard.export import mteb_bitext_scores
from xharness.results import LanguageScore

# mteb's TaskResult (mteb/load_results/task_results.py): these fields and types; every score dict
# holds main_score, hf_subset (str) and languages (list) and is JSON-serialisable.
TASK_RESULT_FIELDS = {"dataset_revision": str, "task_name": str, "mteb_version": str, "scores": dict, "evaluation_time": (int, float)}


def check_task_result(data: dict) -> None:
    for name, kind in TASK_RESULT_FIELDS.items():
        assert isinstance(data[name], kind), name
    assert "kg_co2_emissions" in data
    from packaging.version import Version

    Version(data["mteb_version"])  # mteb parses it on load
    for split, entries in data["scores"].items():
        assert isinstance(split, str) and isinstance(entries, list) and entries
        for entry in entries:
            assert "main_score" in entry and isinstance(entry["hf_subset"], str) and isinstance(entry["languages"], list)
            assert all(0.0 <= entry[k] <= 1.0 for k in ("main_score", "precision", "recall", "f1"))
    json.dumps(data, allow_nan=False)


def test_mteb_f1_by_hand():
    # lines 0..3; queries 1 and 2 both pick line 1; query 3 picks line 0
    s = mteb_bitext_scores([0, 1, 1, 0])
    # precision per line: 1/2, 1/2, 0, 0; recall: 1, 1, 0, 0; f1: 2/3, 2/3, 0, 0
    assert s["precision"] == 0.25 and s["recall"] == 0.5 and abs(s["f1"] - 1 / 3) < 1e-12 and s["accuracy"] == 0.5


def export_mteb(tmp_path):
    """Two Tatoeba results (LASER v1 and the demo's) and a BUCC one, exported; the CLI run."""
    root = tmp_path / "results"
    real = tatoeba("org/model", {"de": 75.0, "zh": 50.0}, fingerprints={"de": laser("de"), "zh": laser("zh")})
    real.items = {"de": {"predicted": [0, 1, 2, 3], "correct": [1, 1, 1, 1], "predicted_xx2en": [0, 1, 1, 0]},
                  "zh": {"predicted": [0, 1], "correct": [1, 1], "predicted_xx2en": [0, 1]}}
    real.to_disk(root)
    demo = tatoeba("demo-model", {"de": 90.0}, fingerprints={"de": "x"}, data_source=DEMO_SOURCE)
    demo.items = {"de": {"predicted": [0], "correct": [1], "predicted_xx2en": [0]}}
    demo.to_disk(root)
    bucc = tatoeba("org/model", {"de": 80.0}, fingerprints={"de": "b"})
    bucc.task["name"], bucc.task["main_metric"] = "bucc2018", "f1"
    bucc.scores = {"de": LanguageScore(main_score=80.0, metrics={"f1": 80.0, "precision": 90.0, "recall": 72.0}, n=10)}
    bucc.to_disk(root)
    return CliRunner().invoke(main, ["export", str(root), "-f", "mteb", "-o", str(tmp_path / "mteb")])


def test_mteb_export(tmp_path):
    out = export_mteb(tmp_path)
    assert out.exit_code == 0, out.output
    assert "not exported to MTEB's format: demo-model/tatoeba.json: not LASER's Tatoeba v1" in out.stderr
    folder = tmp_path / "mteb" / "org__model" / "no_revision_available"
    assert sorted(p.name for p in folder.iterdir()) == ["BUCC.json", "Tatoeba.json", "model_meta.json"]
    tat = json.loads((folder / "Tatoeba.json").read_text())
    check_task_result(tat)
    de, zh = tat["scores"]["test"]
    assert de["hf_subset"] == "deu-eng" and de["languages"] == ["deu-Latn", "eng-Latn"] and de["main_score"] == de["f1"] == 0.333333
    assert zh["hf_subset"] == "cmn-eng" and zh["languages"] == ["cmn-Hans", "eng-Latn"] and zh["f1"] == 1.0
    b = json.loads((folder / "BUCC.json").read_text())
    check_task_result(b)
    assert b["scores"]["test"] == [{"f1": 0.8, "precision": 0.9, "recall": 0.72, "main_score": 0.8, "hf_subset": "de-en", "languages": ["deu-Latn", "eng-Latn"]}]
    assert json.loads((folder / "model_meta.json").read_text())["name"] == "org/model"


def test_mteb_reads_the_export_with_its_own_loader(tmp_path):
    """Where the mteb package is installed (a test-only environment), its TaskResult.from_disk loads each
    file, knows the task, and every subset we wrote is one of the task's own, with our numbers."""
    mteb = pytest.importorskip("mteb")
    assert export_mteb(tmp_path).exit_code == 0
    folder = tmp_path / "mteb" / "org__model" / "no_revision_available"
    for name, subsets in (("Tatoeba", {"deu-eng": 0.333333, "cmn-eng": 1.0}), ("BUCC", {"de-en": 0.8})):
        loaded = mteb.TaskResult.from_disk(folder / f"{name}.json")
        assert loaded.task_name == name
        known = set(mteb.get_task(name).metadata.hf_subsets_to_langscripts)
        scores = {entry["hf_subset"]: entry["main_score"] for entry in loaded.scores["test"]}
        assert set(scores) <= known and scores == subsets


def test_long_export(tmp_path):
    root = tmp_path / "results"
    tatoeba("m", {"de": 75.0}, fingerprints={"de": laser("de")}).to_disk(root)
    out = CliRunner().invoke(main, ["export", str(root), "-f", "long"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows[0] == {"model": "m", "task": "tatoeba", "protocol": rows[0]["protocol"], "data": "LASER v1", "language": "de",
                       "metric": "main_score", "value": "75.0", "n": "100", "source": "m/tatoeba.json"}
    lines = CliRunner().invoke(main, ["export", str(root), "-f", "jsonl"]).stdout.splitlines()
    assert [json.loads(line)["metric"] for line in lines] == ["main_score", "accuracy"]


def test_a_bucc_run_with_limit_is_not_exported_as_mteb_bucc(tmp_path):
    # Was: any BUCC result became MTEB's BUCC, a --limit subset included (Tatoeba's were already left out).
    root = tmp_path / "results"
    bucc = tatoeba("org/model", {"de": 80.0}, fingerprints={"de": "b"})
    bucc.task["name"], bucc.task["main_metric"] = "bucc2018", "f1"
    bucc.config = {**bucc.config, "limit": 50}
    bucc.scores = {"de": LanguageScore(main_score=80.0, metrics={"f1": 80.0, "precision": 90.0, "recall": 72.0}, n=10)}
    bucc.to_disk(root)
    out = CliRunner().invoke(main, ["export", str(root), "-f", "mteb", "-o", str(tmp_path / "mteb")])
    assert out.exit_code == 2 and "org-model/bucc2018.json: run with --limit 50" in out.stderr
    assert not (tmp_path / "mteb").exists()

