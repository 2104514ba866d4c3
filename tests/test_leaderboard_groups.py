"""A table holds only comparable runs: demo vs LASER Tatoeba data, reference rows under their data, a nested demo folder.

Golden files in tests/golden/leaderboard_groups/ (regenerate with XHARNESS_UPDATE_GOLDEN=1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from xharness.cli import main
from xharness.leaderboard.cli import build
from xharness.leaderboard.data_identity import known_datasets, language_fingerprint
from xharness.results import LanguageScore, TaskResult, model_slug

GOLDEN = Path(__file__).parent / "golden" / "leaderboard_groups"
DEMO_SOURCE = {"format": "xharness-demo-tatoeba", "fingerprint": "django==5.2;demo-rules=1", "source": {"package": "django", "version": "5.2"}}


def tatoeba(model, scores, *, fingerprints, data_source=None, limit=None, data_dir="/data/somewhere"):
    task = {
        "name": "tatoeba", "version": "1", "split": "test", "main_metric": "accuracy", "protocol": {"main": "top-1"},
        "data_dir": data_dir, "data_fingerprint": "x",
        "data_files": {lang: {"files": [f"{lang}.txt"], "sha256": fingerprints[lang]} for lang in scores},
        "languages": list(scores),
    }
    if data_source is not None:
        task["data_source"] = data_source
    return TaskResult(
        task=task,
        model={"name": model, "slug": model_slug(model), "adapter": "fake", "fingerprint": f"fp-{model}", "options": {}},
        config={"limit": limit},
        scores={lang: LanguageScore(main_score=v, metrics={"accuracy": v}, n=100) for lang, v in scores.items()},
        timing={"encode": 1.0},
        versions={"python": "3.11.0", "xharness": "0.1.0"},
    )


def laser(lang, limit=None):
    return language_fingerprint(known_datasets()["laser-tatoeba-v1"]["languages"][lang], limit)


@pytest.fixture
def mixed(tmp_path) -> Path:
    """The README's case: the demo's results under demo/, a real run of usem3 on LASER's files beside it."""
    root = tmp_path / "results"
    demo = root / "demo"
    demo_prints = {"de": "demo-de", "fr": "demo-fr", "ja": "demo-ja"}
    tatoeba("usem3", {"de": 92.0, "fr": 95.0, "ja": 93.0}, fingerprints=demo_prints, data_source=DEMO_SOURCE).to_disk(demo)
    tatoeba("all-MiniLM-L6-v2", {"de": 29.0, "fr": 36.0, "ja": 13.0}, fingerprints=demo_prints, data_source=DEMO_SOURCE).to_disk(demo)
    tatoeba("usem3", {"de": 96.5, "fr": 94.25}, fingerprints={"de": laser("de"), "fr": laser("fr")}).to_disk(root)
    tatoeba("quick", {"de": 90.0}, fingerprints={"de": laser("de", 100)}, limit=100).to_disk(root)
    return root


def test_demo_and_laser_data_get_separate_tables(mixed):
    board = build(mixed)
    headings = [t.heading for t in board.tasks]
    assert headings == [
        "tatoeba · demo (django 5.2 translation catalogues) · 3 languages",
        "tatoeba · LASER v1 · 2 languages",
        "tatoeba · LASER v1, first 100 items · 1 language",
    ]
    demo, full, limited = board.tasks
    assert [r.model for r in demo.rows] == ["usem3 [demo/usem3]", "all-MiniLM-L6-v2"]
    assert [r.model for r in full.rows] == ["usem3 [usem3]"]
    # LaBSE's published mean is on LASER's full files: only under that table.
    assert [ref.model for ref in full.references] == ["LaBSE"]
    assert not demo.references and not limited.references
    assert len(set(board.overview.tasks)) == 3


def test_data_label_read_from_the_folder_when_not_recorded(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "MANIFEST.json").write_text(json.dumps(DEMO_SOURCE))
    tatoeba("a", {"de": 1.0}, fingerprints={"de": "x"}, data_dir=str(data)).to_disk(tmp_path / "r")
    assert build(tmp_path / "r").tasks[0].data_label == "demo (django 5.2 translation catalogues)"


def test_unknown_data_splits_on_conflicting_fingerprints(tmp_path):
    tatoeba("a", {"de": 1.0, "fr": 2.0}, fingerprints={"de": "d1", "fr": "f1"}).to_disk(tmp_path / "r")
    tatoeba("b", {"fr": 3.0}, fingerprints={"fr": "f1"}).to_disk(tmp_path / "r")
    tatoeba("c", {"de": 4.0}, fingerprints={"de": "d2"}).to_disk(tmp_path / "r")
    board = build(tmp_path / "r")
    assert sorted([[r.model for r in t.rows] for t in board.tasks]) == [["a", "b"], ["c"]]
    assert all(t.data_label.startswith("files in somewhere, fingerprint ") for t in board.tasks)


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_grouped_golden(mixed, tmp_path, fmt):
    out = CliRunner().invoke(main, ["leaderboard", str(mixed), "-f", fmt])
    assert out.exit_code == 0, out.output
    golden = GOLDEN / f"leaderboard.{fmt}"
    if os.environ.get("XHARNESS_UPDATE_GOLDEN"):
        golden.write_text(out.stdout, encoding="utf-8")
    assert out.stdout == golden.read_text(encoding="utf-8")


def _tatoeba_folder(folder: Path, pairs: dict[str, list[tuple[str, str]]]) -> Path:
    folder.mkdir(parents=True)
    for code, rows in pairs.items():
        (folder / f"tatoeba.{code}-eng.{code}").write_text("".join(o + "\n" for o, _ in rows), encoding="utf-8")
        (folder / f"tatoeba.{code}-eng.eng").write_text("".join(e + "\n" for _, e in rows), encoding="utf-8")
    return folder


def test_demo_results_and_a_real_run_in_one_tree(tmp_path):
    """The README's example: demo results under results/demo/, then `xharness eval usem3 ...` into results/."""
    from tests.fakes import CharNgramAdapter
    from xharness.runner import EvalRequest, RunOptions, run_eval

    pairs = {"deu": [("der rote Hund", "the red dog"), ("ein kleines Haus", "a small house"), ("wir essen Brot", "we eat bread")]}
    demo_data = _tatoeba_folder(tmp_path / "demo-data", pairs)
    (demo_data / "MANIFEST.json").write_text(json.dumps({**DEMO_SOURCE, "languages": {}}))
    other_data = _tatoeba_folder(tmp_path / "other-data", {"deu": pairs["deu"][:2]})
    results = tmp_path / "results"
    for data, out in ((demo_data, results / "demo"), (other_data, results)):
        request = EvalRequest(model="usem3", data_dir=data, languages=("de",), run=RunOptions(out_dir=out, cache=False))
        run_eval(request, adapter=CharNgramAdapter(64, name="usem3"))
    recorded = json.loads((results / "demo" / "usem3" / "tatoeba.json").read_text())["task"]["data_source"]
    assert recorded["format"] == "xharness-demo-tatoeba"
    out = CliRunner().invoke(main, ["leaderboard", str(results)])
    assert out.exit_code == 0, out.output
    headings = [line for line in out.stdout.splitlines() if line.startswith("## tatoeba")]
    assert headings == [
        "## tatoeba · demo (django 5.2 translation catalogues) · 1 language (accuracy)",
        "## tatoeba · files in other-data, fingerprint " + headings[1].split("fingerprint ")[1],
    ]
    assert "usem3 \\[demo/usem3\\]" in out.stdout and "usem3 \\[usem3\\]" in out.stdout


def test_probe_tables_show_baselines_and_flag_unpredictable_labels(tmp_path):
    from xharness.leaderboard.render import render

    result = tatoeba("m", {"de": 40.0, "ru": 0.0}, fingerprints={"de": "a", "ru": "b"})
    result.task["name"] = "classify"
    extra = {"de": (30.0, 25.0, 0.0), "ru": (50.0, 25.0, 10.0)}
    result.scores = {
        lang: LanguageScore(main_score=s.main_score, n=s.n, metrics={
            **s.metrics, "majority_baseline": extra[lang][0], "chance_baseline": extra[lang][1], "unpredictable_share": extra[lang][2]})
        for lang, s in result.scores.items()
    }
    result.to_disk(tmp_path / "r")
    board = build(tmp_path / "r")
    (table,) = board.tasks
    assert dict(table.baselines)["majority class"] == {"de": 30.0, "ru": 50.0}
    assert any("cannot predict some test labels" in note and "ru" in note for note in table.notes)
    md = render(board, "md")
    assert "| | *majority class* (baseline) | 40.00 | | 30.00 | 50.00 |" in md.replace("|  |", "| |")
    assert "classify,chance (uniform),baseline,ru,25.0" in render(board, "csv")
    assert 'class="baselines"' in render(board, "html")


def test_a_probes_fit_outcomes_do_not_split_its_table(tmp_path):
    for model, c in (("a", [1.0]), ("b", [0.1])):
        r = tatoeba(model, {"de": 50.0}, fingerprints={"de": "x"})
        r.task["protocol"] = {"seeds": [0], "chosen_c": c, "converged": [True]}
        r.to_disk(tmp_path / "r")
    assert len(build(tmp_path / "r").tasks) == 1
