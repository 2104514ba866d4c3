"""`xharness report` with one model name in two folders (a `demo/` subfolder beside one's own run):
both are kept, labelled `name [folder]` as the leaderboard labels them, and an ambiguous
`--baseline` is refused with the candidates named."""

from __future__ import annotations

import json
import shutil

import pytest

from test_compare import pattern, tatoeba
from test_report import B, one_line_error, run
from xharness.errors import XharnessError
from xharness.leaderboard.collect import collect
from xharness.leaderboard.names import parse_names
from xharness.leaderboard.report import build_report


@pytest.fixture
def tree(tmp_path):
    """base and better at the top; a second 'better' (other numbers) and a copy of 'base' under demo/."""
    root = tmp_path / "results"
    tatoeba("base", {"de": pattern(100, 60), "fr": pattern(100, 50)}).to_disk(root)
    tatoeba("better", {"de": pattern(100, 80), "fr": pattern(100, 50)}).to_disk(root)
    tatoeba("better", {"de": pattern(100, 70), "fr": pattern(100, 60)}).to_disk(root / "demo")
    return root


def test_one_name_in_two_folders_gives_two_checkpoints_labelled_as_in_the_leaderboard(tree):
    rep = build_report(tree, baseline="base", n_resamples=B)
    labels = [c.model.label for c in rep.checkpoints]
    assert labels == ["better [better]", "better [demo/better]"]
    # The same labels as the leaderboard's (one shared function, collect.label_by_folder).
    assert sorted(e.display for e in collect(tree, by_folder=True).entries if e.model == "better") == sorted(labels)
    deltas = {c.model.label: c.task("tatoeba").cell("de").delta for c in rep.checkpoints}
    assert deltas == {"better [better]": 20.0, "better [demo/better]": 10.0}
    md = run("report", tree, "--baseline", "base", "--resamples", B).output
    assert "| better \\[better\\] |" in md and "| better \\[demo/better\\] |" in md
    data = json.loads(run("report", tree, "--baseline", "base", "--resamples", B, "-f", "json").output)
    shown = {c["label"]: c["folder"] for c in data["checkpoints"]}
    assert shown == {"better [better]": "better", "better [demo/better]": "demo/better"}


def test_an_ambiguous_baseline_names_the_candidates(tree):
    line = one_line_error(run("report", tree, "--baseline", "better", "--resamples", B))
    assert line == ("xharness: error: --baseline 'better' matches 2 models: 'better [better]', 'better [demo/better]'; "
                    "give one of these labels (or its folder)")


@pytest.mark.parametrize("baseline", ["better [demo/better]", "demo/better", "demo/better/", "./demo/better"])  # as a shell completes it
def test_the_folder_qualified_label_or_the_folder_picks_one(tree, baseline):
    rep = build_report(tree, baseline=baseline, n_resamples=B)
    assert (rep.baseline.label, rep.baseline.folder) == ("better [demo/better]", "demo/better")
    assert [c.model.label for c in rep.checkpoints] == ["base", "better [better]"]
    md = run("report", tree, "--baseline", baseline, "--resamples", B).output
    assert "Baseline: **better \\[demo/better\\]** (demo/better)" in md


def test_a_names_file_keys_each_run_by_its_label_and_a_shared_key_is_refused(tree):
    names = parse_names({"models": {"better [demo/better]": "demo run", "better [better]": "own run"}})
    rep = build_report(tree, baseline="base", names=names, n_resamples=B)
    assert [c.model.label for c in rep.checkpoints] == ["demo run", "own run"]
    with pytest.raises(XharnessError, match=r"would both read 'MNLI'.*'name \[folder\]'"):
        build_report(tree, baseline="base", names=parse_names({"models": {"better": "MNLI"}}), n_resamples=B)


def test_a_name_in_one_folder_keeps_its_plain_label(tree):
    shutil.rmtree(tree / "demo")
    rep = build_report(tree, baseline="base", n_resamples=B)
    assert [c.model.label for c in rep.checkpoints] == ["better"]


def _built_from(result, package):
    """Mark a result as run on a built data folder (as the demo's are): the leaderboard's data identity."""
    result.task["data_source"] = {"format": "xharness-demo-tatoeba", "fingerprint": f"fp-{package}",
                                  "source": {"package": package, "version": "1.0"}}
    return result


def test_a_run_on_other_known_data_is_left_out_and_listed_not_refused(tmp_path):
    """results/demo/usem3 (demo data) as the baseline; results/usem3 ran on other data: two leaderboard tables, no pair."""
    root = tmp_path / "results"
    _built_from(tatoeba("usem3", {"de": pattern(100, 60)}), "pkg-a").to_disk(root / "demo")
    _built_from(tatoeba("minilm", {"de": pattern(100, 30)}), "pkg-a").to_disk(root / "demo")
    _built_from(tatoeba("usem3", {"de": pattern(100, 90)}, data="other"), "pkg-b").to_disk(root)
    rep = build_report(root, baseline="demo/usem3", n_resamples=B)
    own = next(c for c in rep.checkpoints if c.model.label == "usem3 [usem3]")
    assert own.tasks == () and own.missing_tasks == ("tatoeba",)
    assert own.other_data == ("tatoeba: left out, run on other data (demo (pkg-b 1.0 translation catalogues); "
                              "the baseline's: demo (pkg-a 1.0 translation catalogues))",)
    assert next(c for c in rep.checkpoints if c.model.label == "minilm").task("tatoeba").cell("de").delta == -30.0
    md = run("report", root, "--baseline", "usem3 [demo/usem3]", "--resamples", B).output
    assert "- usem3 \\[usem3\\]: tatoeba: left out, run on other data" in md


def test_lang_takes_a_comma_separated_list_as_eval_does(tree):
    # Was: `compare -l de,fr` refused "--lang de,fr: no compared result has this language" (eval takes -l de,fr).
    listed = run("compare", tree / "base", tree / "better", "-l", "de,fr", "--resamples", B)
    repeated = run("compare", tree / "base", tree / "better", "-l", "de", "-l", "fr", "--resamples", B)
    assert listed.exit_code == 0 and listed.output == repeated.output and "fr" in listed.output, listed.output
    board = run("leaderboard", tree, "-l", "de,fr").output
    assert "| de | fr |" in board
