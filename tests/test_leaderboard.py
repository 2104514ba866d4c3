"""The leaderboard: golden outputs for a small results folder, ranking rules, filters, and bad or hostile input.

Golden files live in tests/golden/leaderboard/; after an intended change to the output,
regenerate them with `XHARNESS_UPDATE_GOLDEN=1 pytest tests/test_leaderboard.py` and review the diff.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from xharness.cli import main
from xharness.errors import XharnessError
from xharness.leaderboard.collect import collect
from xharness.leaderboard.references import load_references, parse_references
from xharness.leaderboard.tables import build_leaderboard, competition_ranks
from xharness.results import LanguageScore, TaskResult, model_slug

GOLDEN = Path(__file__).parent / "golden" / "leaderboard"
HOSTILE = "<script>alert(1)</script>"

TEST_REFERENCES = {
    "rows": [
        {
            "model": "RefModel", "task": "tatoeba", "metric": "accuracy", "language": "de", "value": 99.1,
            "source": {"paper": "A. Author 2020", "where": "Table 9"}, "protocol": "en->xx top-1",
        },
        {
            "model": "RefModel", "task": "tatoeba", "metric": "accuracy", "language": None,
            "scope": "mean over 36 languages", "value": 95.0,
            "source": {"paper": "A. Author 2020", "where": "Table 3"}, "protocol": "en->xx top-1",
        },
        {
            "model": "RefModel", "task": "tatoeba", "metric": "accuracy", "language": "sw", "value": 88.0,
            "source": {"paper": "A. Author 2020", "where": "Table 9"}, "protocol": "not in the table's languages",
        },
    ]
}


def make_result(model, task, scores, *, metric="accuracy", data="d1", items=None, protocol=None, n=100):
    """A valid TaskResult with the given main scores per language (no model run)."""
    langs = list(scores)
    return TaskResult(
        task={
            "name": task, "version": "1", "split": "test", "main_metric": metric,
            "protocol": protocol if protocol is not None else {"main": f"{metric} x100"},
            "data_fingerprint": f"{data}-" + "-".join(langs),
            "data_files": {lang: {"files": [f"{lang}.txt"], "sha256": f"{data}-{lang}"} for lang in langs},
            "languages": langs,
        },
        model={"name": model, "slug": model_slug(model), "adapter": "fake", "fingerprint": f"fp-{model}", "options": {}},
        config={"limit": None},
        scores={lang: LanguageScore(main_score=v, metrics={metric: v}, n=n) for lang, v in scores.items()},
        timing={"encode": 1.0},
        versions={"python": "3.11.0", "xharness": "0.1.0"},
        items=items,
    )


def write(results, root: Path) -> Path:
    for result in results:
        result.to_disk(root)
    return root


def small_folder(root: Path) -> Path:
    """Two tasks; a tie; a model missing a language and a task; a hostile model name."""
    return write(
        [
            make_result("alpha", "tatoeba", {"de": 90.0, "fr": 80.0, "ja": 70.0}),
            make_result("beta", "tatoeba", {"de": 85.0, "fr": 85.0, "ja": 70.0}),
            make_result("gamma", "tatoeba", {"de": 95.0, "fr": 95.0}),
            make_result(HOSTILE, "tatoeba", {"de": 10.0, "fr": 20.0, "ja": 30.0}),
            make_result("alpha", "bucc2018", {"de": 60.0, "fr": 50.0}, metric="f1"),
            make_result("beta", "bucc2018", {"de": 70.5, "fr": 50.25}, metric="f1"),
            make_result(HOSTILE, "bucc2018", {"de": 1.0, "fr": 2.0}, metric="f1"),
        ],
        root,
    )


@pytest.fixture
def results(tmp_path) -> Path:
    return small_folder(tmp_path / "results")


@pytest.fixture
def refs_file(tmp_path) -> Path:
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(TEST_REFERENCES))
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# -- golden outputs ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json"])
def test_golden_outputs(results, refs_file, tmp_path, fmt):
    out = tmp_path / "out"
    result = run("leaderboard", results, "-o", out, "-f", fmt, "--references-file", refs_file)
    assert result.exit_code == 0, result.output
    produced = (out / f"leaderboard.{fmt}").read_text(encoding="utf-8")
    golden = GOLDEN / f"leaderboard.{fmt}"
    if os.environ.get("XHARNESS_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced, encoding="utf-8")
    assert produced == golden.read_text(encoding="utf-8"), f"{fmt} output differs from {golden}"


def test_regeneration_is_byte_identical_and_location_independent(results, tmp_path):
    first, second, moved_out = tmp_path / "one", tmp_path / "two", tmp_path / "three"
    assert run("leaderboard", results, "-o", first).exit_code == 0
    assert run("leaderboard", results, "-o", second).exit_code == 0
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(results, moved)
    assert run("leaderboard", moved, "-o", moved_out).exit_code == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == ["leaderboard.csv", "leaderboard.html", "leaderboard.json", "leaderboard.md"]
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes() == (moved_out / name).read_bytes()


def test_stdout_defaults_to_markdown_and_timestamp_is_opt_in(results):
    plain = run("leaderboard", results)
    assert plain.exit_code == 0 and plain.output.startswith("# xharness leaderboard\n")
    assert "Generated" not in plain.output
    stamped = run("leaderboard", results, "--timestamp")
    assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", stamped.output)
    as_json = json.loads(run("leaderboard", results, "-f", "json").output)
    assert as_json["format"] == "xharness-leaderboard" and as_json["generated"] is None


# -- tables: averages, ranks, completeness ------------------------------------------------------


def board_of(results, **kwargs):
    return build_leaderboard(collect(results).entries, **kwargs)


def test_task_table_ranks_averages_and_incomplete_rows(results):
    board = board_of(results)
    assert [t.task for t in board.tasks] == ["bucc2018", "tatoeba"]
    tatoeba = board.tasks[1]
    assert tatoeba.languages == ("de", "fr", "ja")
    rows = {r.model: r for r in tatoeba.rows}
    # alpha and beta both average 80.00: a shared rank, listed by name; gamma lacks ja: unranked, last.
    assert [(r.model, r.rank) for r in tatoeba.rows] == [("alpha", 1), ("beta", 1), (HOSTILE, 3), ("gamma", None)]
    assert rows["alpha"].average == pytest.approx(80.0) and rows["alpha"].n_languages == 3
    assert rows["gamma"].average == pytest.approx(95.0) and not rows["gamma"].complete
    assert rows["gamma"].scores["ja"] is None
    assert any("not ranked" in note for note in tatoeba.notes)


def test_overview_average_only_for_models_with_every_task(results):
    board = board_of(results)
    rows = {r.model: r for r in board.overview.rows}
    assert board.overview.tasks == ("bucc2018", "tatoeba")
    assert rows["beta"].average == pytest.approx(((70.5 + 50.25) / 2 + 80.0) / 2)
    assert rows["alpha"].average == pytest.approx((55.0 + 80.0) / 2)
    assert [r.model for r in board.overview.rows] == ["beta", "alpha", HOSTILE, "gamma"]
    assert [r.rank for r in board.overview.rows] == [1, 2, 3, None]
    gamma = rows["gamma"]
    assert gamma.average is None and not gamma.complete
    assert gamma.missing == ("no bucc2018 result", "tatoeba: 2 of 3 languages")
    assert gamma.averages == {"bucc2018": None, "tatoeba": pytest.approx(95.0)}


def test_competition_ranks_use_the_shown_precision():
    assert competition_ranks([90.0, 80.004, 80.0, 70.0]) == [1, 2, 2, 4]
    assert competition_ranks([50.0, 50.0, 50.0]) == [1, 1, 1]
    assert competition_ranks([]) == []


def test_language_and_task_filters(results):
    board = board_of(results, languages=["de", "fr"])
    tatoeba = board.tasks[1]
    assert tatoeba.languages == ("de", "fr")
    # Without ja, gamma has every language and leads.
    assert [(r.model, r.rank) for r in tatoeba.rows][0] == ("gamma", 1)
    board = board_of(results, tasks=["tatoeba"], languages=["ja"])
    assert [t.task for t in board.tasks] == ["tatoeba"] and board.tasks[0].languages == ("ja",)
    assert "gamma" not in [r.model for r in board.tasks[0].rows]
    with pytest.raises(XharnessError, match="--lang xx: no result has this language"):
        board_of(results, languages=["xx"])
    with pytest.raises(XharnessError, match="--task tatoba: no result has this task"):
        board_of(results, tasks=["tatoba"])
    with pytest.raises(XharnessError, match="no task has results"):
        board_of(results, tasks=["bucc2018"], languages=["ja"])


def test_filters_on_the_command_line(results):
    out = run("leaderboard", results, "-l", "de", "-t", "tatoeba", "-f", "csv")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "task,model,kind,language,value,rank,complete,source"
    assert not any(",fr," in line or "bucc2018" in line for line in lines)
    assert "tatoeba,gamma,score,de,95.0,,,gamma/tatoeba.json" in lines


def test_different_data_gets_its_own_table(tmp_path):
    root = write(
        [
            make_result("a", "tatoeba", {"de": 50.0}, data="full"),
            make_result("b", "tatoeba", {"de": 60.0}, data="limit200"),
        ],
        tmp_path / "r",
    )
    board = board_of(root)
    assert [[r.model for r in t.rows] for t in board.tasks] in ([["a"], ["b"]], [["b"], ["a"]])
    assert len({t.column for t in board.tasks}) == 2


def test_one_task_with_two_protocols_gets_two_tables(tmp_path):
    root = write([make_result("a", "x", {"de": 1.0}), make_result("b", "x", {"de": 2.0}, metric="f1")], tmp_path / "r")
    board = board_of(root)
    assert sorted(t.main_metric for t in board.tasks) == ["accuracy", "f1"]
    assert all(" · protocol " in t.data_label for t in board.tasks)


# -- reference rows -----------------------------------------------------------------------------


def test_packaged_reference_rows_are_well_formed():
    rows = load_references()
    assert rows, "the packaged reference file has no rows"
    for row in rows:
        assert row.source and row.protocol and row.model and row.task
        assert 0 <= row.value <= 100
    data = json.loads((Path(__file__).parents[1] / "leaderboard" / "references.json").read_text())
    assert all("source" in item and "model" in item for item in data["unconfirmed"])
    assert all("value" not in item for item in data["unconfirmed"]), "unconfirmed entries must carry no number"


def test_reference_rows_are_marked_and_can_be_turned_off(results, refs_file):
    shown = run("leaderboard", results, "--references-file", refs_file)
    assert shown.exit_code == 0, shown.output
    assert "Reported in papers, not run here" in shown.output and "RefModel" in shown.output
    assert "| *RefModel* (reported) | de | 99.1 |" in shown.output
    assert "sw" not in shown.output.split("## Sources")[0].split("RefModel")[-1]  # not one of the table's languages
    html = run("leaderboard", results, "--references-file", refs_file, "-f", "html").output
    assert "reported, not run here" in html and 'class="reported"' in html
    data = json.loads(run("leaderboard", results, "--references-file", refs_file, "-f", "json").output)
    tatoeba = next(t for t in data["tasks"] if t["task"] == "tatoeba")
    assert [r["note"] for r in tatoeba["reported"]] == ["reported, not run here"] * 2
    hidden = run("leaderboard", results, "--references-file", refs_file, "--no-references")
    assert "RefModel" not in hidden.output


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(rows="x"), "'rows' list"),
        (lambda d: d["rows"][0].update(value="high"), "finite number"),
        (lambda d: d["rows"][0].pop("protocol"), "'protocol'"),
        (lambda d: d["rows"][0].update(source="paper"), "'source' must be an object"),
    ],
)
def test_bad_reference_files_are_named(edit, message):
    data = json.loads(json.dumps(TEST_REFERENCES))
    edit(data)
    with pytest.raises(XharnessError, match=message):
        parse_references(data, where="refs.json")


# -- bad input ----------------------------------------------------------------------------------


def test_malformed_file_is_named_in_one_line(results):
    bad = results / "alpha" / "tatoeba.json"
    data = json.loads(bad.read_text())
    data["scores"]["de"]["main_score"] = "high"
    bad.write_text(json.dumps(data))
    out = run("leaderboard", results)
    assert out.exit_code == 2
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "main_score" in lines[0] and "--skip-invalid" in lines[0]


def test_skip_invalid_warns_and_leaves_the_file_out(results):
    (results / "broken").mkdir()
    (results / "broken" / "tatoeba.json").write_text('{"schema_version": 1, "task": ')
    (results / "alpha" / "notes.json").write_text("[1, 2]")
    out = CliRunner().invoke(main, ["leaderboard", str(results), "--skip-invalid", "-f", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert sorted(s["source"] for s in data["skipped"]) == ["alpha/notes.json", "broken/tatoeba.json"]
    assert "warning: skipped invalid result file" in out.stderr
    assert "broken/tatoeba.json" not in data["sources"]


def test_one_model_in_two_folders_is_told_apart_by_folder(results):
    shutil.copytree(results / "alpha", results / "alpha-copy")
    out = run("leaderboard", results, "-f", "csv")
    assert out.exit_code == 0, out.output
    assert "tatoeba,alpha [alpha-copy],average," in out.output and "tatoeba,alpha [alpha],average," in out.output


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "results folder not found"),
    (lambda p: p.mkdir(), "no result files found"),
    (lambda p: p.write_text("x"), "not a folder"),
])
def test_missing_empty_and_non_folder(tmp_path, setup, message):
    target = tmp_path / "results"
    setup(target)
    out = run("leaderboard", target)
    assert out.exit_code == 2 and message in out.output


def test_only_invalid_files(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "t.json").write_text("{}")
    out = run("leaderboard", tmp_path, "--skip-invalid")
    assert out.exit_code == 2 and "no valid result files (1 invalid ones skipped)" in out.output


def test_output_inside_the_results_folder_is_not_read_back(results):
    out = results / "board"
    assert run("leaderboard", results, "-o", out).exit_code == 0
    again = run("leaderboard", results, "-o", out)
    assert again.exit_code == 0, again.output


def test_several_formats_need_an_output_folder(results):
    out = run("leaderboard", results, "-f", "md", "-f", "html")
    assert out.exit_code == 2 and "several formats need -o" in out.output


def test_sidecars_and_hidden_files_are_not_results(results):
    (results / ".cache").mkdir()
    (results / ".cache" / "x.json").write_text("not json")
    (results / "alpha" / ".tmp.json").write_text("not json")
    entries = collect(results).entries
    assert all(not e.source.endswith(".items.json") for e in entries)
    assert len(entries) == 7


# -- hostile strings ----------------------------------------------------------------------------

EVIL_LANG = '<img src=x onerror="alert(2)">'
EVIL_TASK = "t|a*s_k`[x](javascript:alert(3))"


@pytest.fixture
def hostile(tmp_path) -> Path:
    return write(
        [
            make_result(HOSTILE, EVIL_TASK, {EVIL_LANG: 50.0, "de": 40.0}),
            make_result('=HYPERLINK("http://x")', EVIL_TASK, {EVIL_LANG: 10.0, "de": 20.0}),
            make_result("line\nbreak|pipe", EVIL_TASK, {EVIL_LANG: 10.0, "de": 20.0}),
        ],
        tmp_path / "hostile",
    )


def test_html_escapes_everything_from_result_files(hostile):
    html = run("leaderboard", hostile, "-f", "html").output
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html
    # The only script element is the page's own, pinned by its hash in the CSP.
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert "default-src 'none'" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace("http://x", "")


def test_markdown_escapes_html_pipes_and_emphasis(hostile):
    md = run("leaderboard", hostile).output
    assert "<" not in md and ">" not in md.replace("&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "line break\\|pipe" in md
    assert "t\\|a\\*s\\_k\\`\\[x\\](javascript:alert(3))" in md
    # Every table keeps one column count per row despite the pipes in names (escaped pipes do not count).
    block: list[int] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            block.append(len(re.findall(r"(?<!\\)\|", line)))
        elif block:
            assert len(set(block)) == 1, block
            block = []


def test_csv_neutralises_formulas_and_json_round_trips(hostile):
    csv_text = run("leaderboard", hostile, "-f", "csv").output
    assert "'=HYPERLINK" in csv_text and ',=HYPERLINK' not in csv_text
    data = json.loads(run("leaderboard", hostile, "-f", "json").output)
    assert {r["model"] for r in data["tasks"][0]["rows"]} == {HOSTILE, '=HYPERLINK("http://x")', "line\nbreak|pipe"}
    assert EVIL_LANG in data["tasks"][0]["languages"]
