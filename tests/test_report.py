"""`xharness report`: deltas against a baseline built from known per-item outcomes, adjustments,
refusals, names files, golden Markdown and JSON, and byte-identical regeneration.

Golden files live in tests/golden/report/ (regenerate with XHARNESS_UPDATE_GOLDEN=1, review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_compare import pattern, tatoeba
from test_leaderboard import HOSTILE
from xharness.cli import main
from xharness.errors import XharnessError
from xharness.leaderboard.adjust import adjust_p_values
from xharness.leaderboard.compare import compare
from xharness.leaderboard.names import load_names, parse_names
from xharness.leaderboard.report import build_report

GOLDEN = Path(__file__).parent / "golden" / "report"
B = 1000  # resamples in these tests: the smallest bootstrap p is 2 / (B + 1)
P_MIN = 2 / (B + 1)
PROBE = {"seeds": [0, 1, 2], "probe_train_size": 760, "c_grid": [0.1, 1.0]}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def folder(tmp_path) -> Path:
    """A baseline; a copy of it; a checkpoint right on a known superset; one missing a task and a language."""
    root = tmp_path / "results"
    base_items = {"de": pattern(100, 60), "fr": pattern(100, 50), "ja": pattern(100, 40)}
    tatoeba("base", base_items).to_disk(root)
    tatoeba("same", base_items).to_disk(root)
    # Right on the baseline's 60 de items and 20 more; fr unchanged; 30 more ja items: +20, 0, +30.
    tatoeba("better", {"de": pattern(100, 80), "fr": pattern(100, 50), "ja": pattern(100, 70)}).to_disk(root)
    # Only de and fr, plus a language the baseline lacks; no classify result.
    tatoeba("partial", {"de": pattern(100, 50), "fr": pattern(100, 50), "sw": pattern(100, 10)}).to_disk(root)
    classify = {"de": pattern(50, 25), "fr": pattern(50, 20)}
    tatoeba("base", classify, task="classify", protocol={**PROBE, "chosen_c": [1.0, 1.0, 0.1]}).to_disk(root)
    tatoeba("same", classify, task="classify", protocol={**PROBE, "chosen_c": [0.1, 0.1, 0.1]}).to_disk(root)
    tatoeba("better", {"de": pattern(50, 35), "fr": pattern(50, 20)}, task="classify", protocol={**PROBE, "chosen_c": [1.0] * 3}).to_disk(root)
    return root


def report(folder, **kwargs):
    return build_report(folder, baseline=kwargs.pop("baseline", "base"), n_resamples=kwargs.pop("n_resamples", B), **kwargs)


# -- the numbers ----------------------------------------------------------------------------


def test_a_copy_of_the_baseline_gives_zero_deltas_and_zero_intervals(folder):
    rep = report(folder)
    same = next(c for c in rep.checkpoints if c.model.name == "same")
    for task in same.tasks:
        for cell in (*task.cells, task.mean):
            assert (cell.delta, cell.low, cell.high, cell.p, cell.p_adjusted, cell.significant) == (0.0, 0.0, 0.0, 1.0, 1.0, False)
    assert (same.overall.delta, same.overall.low, same.overall.high, same.overall.p) == (0.0, 0.0, 0.0, 1.0)


def test_a_checkpoint_right_on_a_known_superset(folder):
    rep = report(folder)
    better = next(c for c in rep.checkpoints if c.model.name == "better")
    tat = better.task("tatoeba")
    de, fr, ja = (tat.cell(lang) for lang in ("de", "fr", "ja"))
    assert (de.baseline, de.score, de.delta) == (60.0, 80.0, 20.0)
    assert (fr.delta, fr.low, fr.high, fr.p) == (0.0, 0.0, 0.0, 1.0)
    assert ja.delta == 30.0
    # Only gains: no replicate can be <= 0 (it would need none of the 20 or 30 gained items drawn).
    assert 0 < de.low <= 20.0 <= de.high and 0 < ja.low
    assert de.p == pytest.approx(P_MIN) and ja.p == pytest.approx(P_MIN)
    # Holm over (de, fr, ja) = (2/1001, 1, 2/1001): 3 x 2/1001, then 2 x 2/1001 -> running max 6/1001; fr 1.
    assert (de.p_adjusted, ja.p_adjusted, fr.p_adjusted) == pytest.approx((3 * P_MIN, 3 * P_MIN, 1.0))
    assert de.significant and ja.significant and not fr.significant
    assert tat.mean.delta == pytest.approx(50 / 3)
    assert tat.mean.p == pytest.approx(P_MIN) and tat.mean.significant
    cls = better.task("classify")
    assert cls.cell("de").delta == pytest.approx(20.0) and cls.cell("fr").delta == 0.0
    assert cls.mean.delta == pytest.approx(10.0)
    # Overall: the unweighted mean of the two task means (XTREME's convention).
    assert better.overall.delta == pytest.approx((50 / 3 + 10.0) / 2)
    assert better.overall.low <= better.overall.delta <= better.overall.high


def test_cells_are_what_compare_prints(folder):
    rep = report(folder)
    better = next(c for c in rep.checkpoints if c.model.name == "better")
    comparison = compare(folder / "base", folder / "better", n_resamples=B)
    for task in comparison.tasks:
        mine = better.task(task.task)
        for row in task.rows:
            cell = mine.cell(row.language)
            assert (cell.baseline, cell.score, cell.delta, cell.low, cell.high, cell.n) == (
                row.score_a, row.score_b, row.delta, row.low, row.high, row.n)
        assert (mine.mean.delta, mine.mean.low, mine.mean.high) == (task.average.delta, task.average.low, task.average.high)


@pytest.mark.parametrize("method", ["holm", "bh", "none"])
def test_adjustment_flags(folder, method):
    rep = report(folder, adjust=method)
    better = next(c for c in rep.checkpoints if c.model.name == "better")
    tat = better.task("tatoeba")
    ps = [c.p for c in tat.cells]
    assert [c.p_adjusted for c in tat.cells] == pytest.approx(adjust_p_values(ps, method).tolist())
    # By hand for (de, fr, ja) = (2/1001, 1, 2/1001).
    expected = {"holm": (3 * P_MIN, 1.0, 3 * P_MIN), "bh": (1.5 * P_MIN, 1.0, 1.5 * P_MIN), "none": (P_MIN, 1.0, P_MIN)}[method]
    assert [c.p_adjusted for c in tat.cells] == pytest.approx(expected)
    md = run("report", folder, "--baseline", "base", "--adjust", method, "--resamples", B).output
    said = {"holm": "Holm-Bonferroni (family-wise error rate)", "bh": "Benjamini-Hochberg (false discovery rate)",
            "none": "no adjustment"}[method]
    assert f"Multiple comparisons: {said}" in md and f"`--adjust {method}`" in md
    data = json.loads(run("report", folder, "--baseline", "base", "--adjust", method, "--resamples", B, "-f", "json").output)
    assert data["adjustment"]["method"] == method


def test_holm_with_too_few_resamples_says_so(folder):
    rep = report(folder, n_resamples=50)  # smallest p = 2/51 ~ 0.039; x 3 languages > 0.05
    assert any("cannot reach alpha = 0.05" in note for note in rep.notes)
    assert not any(c.significant for ck in rep.checkpoints for t in ck.tasks for c in t.cells)
    assert not report(folder, n_resamples=50, adjust="bh").notes


def test_missing_languages_and_tasks_are_left_out_and_listed(folder):
    rep = report(folder)
    partial = next(c for c in rep.checkpoints if c.model.name == "partial")
    tat = partial.task("tatoeba")
    assert [c.key for c in tat.cells] == ["de", "fr"]
    assert tat.only_baseline == ("ja",) and tat.only_checkpoint == ("sw",)
    assert tat.mean.delta == pytest.approx(-5.0)  # (50 - 60 + 0) / 2
    assert partial.missing_tasks == ("classify",) and partial.overall is None
    md = run("report", folder, "--baseline", "base", "--resamples", B).output
    assert "partial: tatoeba: left out, only the baseline has ja" in md
    assert "partial: tatoeba: left out, only the checkpoint has sw" in md
    assert "partial: no comparable result for classify (no overall mean)" in md


def test_filters(folder):
    rep = report(folder, tasks=["tatoeba"], languages=["de"])
    assert [t.name for t in rep.tasks] == ["tatoeba"]
    assert all(c.overall is None for c in rep.checkpoints)  # one task: no overall
    assert all([x.key for x in c.task("tatoeba").cells] == ["de"] for c in rep.checkpoints)
    with pytest.raises(XharnessError, match="the baseline has no result for task"):
        report(folder, tasks=["bucc2018"])


# -- refusals: one clear line ---------------------------------------------------------------


def test_refuses_a_data_fingerprint_mismatch(tmp_path):
    tatoeba("base", {"de": pattern(10, 5)}, data="full").to_disk(tmp_path)
    tatoeba("limited", {"de": pattern(10, 5)}, data="limit200").to_disk(tmp_path)
    line = one_line_error(run("report", tmp_path, "--baseline", "base"))
    assert "limited vs baseline base: tatoeba/de: the runs used different data (fingerprint full-de vs limit200-de" in line


@pytest.mark.parametrize(
    "task, base, other, where",
    [
        # A dev-tuned BUCC threshold against an oracle one.
        ("bucc2018", {"name": "xharness", "threshold": "tuned on dev"}, {"name": "xharness", "threshold": "oracle (tuned on test)"}, "protocol.threshold"),
        # Another Tatoeba margin (nested in the protocol).
        ("tatoeba", {"main": "top-1", "extra": {"margin": "ratio, k=4"}}, {"main": "top-1", "extra": {"margin": "distance, k=4"}}, "protocol.extra.margin"),
        # Another Tatoeba direction.
        ("tatoeba", {"main": "top-1", "queries": "en"}, {"main": "top-1", "queries": "other language"}, "protocol.queries"),
        # Other probe settings.
        ("classify", {**PROBE, "chosen_c": [1.0]}, {**PROBE, "probe_train_size": 100, "chosen_c": [1.0]}, "protocol.probe_train_size"),
    ],
)
def test_refuses_a_protocol_mismatch(tmp_path, task, base, other, where):
    tatoeba("base", {"de": pattern(10, 5)}, task=task, protocol=base).to_disk(tmp_path)
    tatoeba("ckpt", {"de": pattern(10, 5)}, task=task, protocol=other).to_disk(tmp_path)
    line = one_line_error(run("report", tmp_path, "--baseline", "base"))
    assert f"ckpt vs baseline base: {task}: the runs used different protocols ({where} differs); refusing to compare" in line


def test_the_c_each_probe_chose_is_an_outcome_not_a_setting(folder):
    # 'same' and 'base' chose different C values on dev: still comparable.
    rep = report(folder)
    assert next(c for c in rep.checkpoints if c.model.name == "same").task("classify") is not None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--baseline", "nobody"], "--baseline 'nobody': no such model in the results folder (models: base, better, partial, same)"),
        (["--baseline", "base", "-f", "md", "-f", "json"], "several formats need -o/--out"),
        (["--baseline", "base", "--figures", "svg"], "--figures needs -o/--out"),
        (["--baseline", "base", "--names", "missing.toml"], "missing.toml: names file not found"),
    ],
)
def test_bad_invocations(folder, args, message):
    assert message in one_line_error(run("report", folder, *args))


def test_only_the_baseline(tmp_path):
    tatoeba("base", {"de": pattern(10, 5)}).to_disk(tmp_path)
    assert "only the baseline 'base' is here" in one_line_error(run("report", tmp_path, "--baseline", "base"))


# -- names file -----------------------------------------------------------------------------

NAMES_TOML = """
# display names, and the intermediate task each checkpoint saw
[models.better]
name = "MNLI"
intermediate = "MNLI (English)"

[models.partial]
name = "SQuAD"
intermediate = "SQuAD v1.1 (English)"

[models.base]
name = "XLM-R"

[models.not-in-this-folder]
name = "ignored"
"""


def test_names_file_gives_row_labels_order_and_intermediate_tasks(folder, tmp_path):
    path = tmp_path / "names.toml"
    path.write_text(NAMES_TOML, encoding="utf-8")
    rep = report(folder, baseline="XLM-R", names=load_names(path))
    assert rep.baseline.name == "base" and rep.baseline.label == "XLM-R"
    assert [c.model.label for c in rep.checkpoints] == ["MNLI", "SQuAD", "same"]  # file order, then the rest
    assert rep.checkpoints[0].model.intermediate == "MNLI (English)"
    md = run("report", folder, "--baseline", "base", "--names", path, "--resamples", B).output
    assert "| checkpoint | intermediate | classify | tatoeba | overall |" in md
    assert "| MNLI | MNLI (English) |" in md and "| same | – |" in md
    as_json = tmp_path / "names.json"
    as_json.write_text(json.dumps({"models": {"better": "MNLI", "partial": {"intermediate": "SQuAD"}}}), encoding="utf-8")
    rep = report(folder, names=load_names(as_json))
    assert [c.model.label for c in rep.checkpoints] == ["MNLI", "SQuAD", "same"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"models": {"a": {"name": "X", "colour": "red"}}}, "models.a: unknown field(s) 'colour'"),
        ({"models": {"a": "X", "b": "X"}}, "models a and b would both read 'X'"),
        ({"models": {"a": {"name": ""}}}, "models.a.name: must be a non-empty string"),
        ({"models": ["a"]}, "'models' must be a table/object"),
        ({"model": {}}, "unknown top-level field(s) 'model'"),
    ],
)
def test_bad_names_files(data, message):
    with pytest.raises(XharnessError) as err:
        parse_names(data, source="names.json")
    assert message in str(err.value)


def test_a_display_name_that_clashes_with_another_model(folder):
    with pytest.raises(XharnessError, match="would both read 'same'"):
        report(folder, names=parse_names({"models": {"better": "same"}}))


def test_bad_toml_is_one_line(folder, tmp_path):
    path = tmp_path / "names.toml"
    path.write_text("[models\n", encoding="utf-8")
    assert "names.toml: not valid TOML" in one_line_error(run("report", folder, "--baseline", "base", "--names", path))


# -- outputs --------------------------------------------------------------------------------


def golden_folder(root: Path) -> Path:
    """Two tasks, a names file's worth of checkpoints, a hostile name, a missing language."""
    base = {"de": pattern(80, 40), "fr": pattern(80, 50), "ja": pattern(80, 30)}
    tatoeba("xlmr", base).to_disk(root)
    tatoeba("xlmr-mnli", {"de": pattern(80, 52), "fr": pattern(80, 50, offset=4), "ja": pattern(80, 27)}).to_disk(root)
    tatoeba(HOSTILE + "|*x*", {"de": pattern(80, 36, offset=2), "fr": pattern(80, 60)}).to_disk(root)
    tatoeba("xlmr", {"de": pattern(60, 30), "fr": pattern(60, 24)}, task="classify", protocol=PROBE).to_disk(root)
    tatoeba("xlmr-mnli", {"de": pattern(60, 40), "fr": pattern(60, 22, offset=3)}, task="classify", protocol=PROBE).to_disk(root)
    tatoeba(HOSTILE + "|*x*", {"de": pattern(60, 30), "fr": pattern(60, 24)}, task="classify", protocol=PROBE).to_disk(root)
    (root.parent / "names.json").write_text(json.dumps({"models": {
        "xlmr-mnli": {"name": "MNLI", "intermediate": "MNLI (English)"},
        "xlmr": {"name": "XLM-R", "intermediate": "none"},
    }}), encoding="utf-8")
    return root


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_golden_outputs(tmp_path, monkeypatch, fmt):
    golden_folder(tmp_path / "results")
    monkeypatch.chdir(tmp_path)  # relative paths in the output, as a user would type them
    result = run("report", "results", "--baseline", "xlmr", "--names", "names.json", "--resamples", B, "-o", "out",
                 "-f", fmt, "--figures", "none")
    assert result.exit_code == 0, result.output
    produced = (tmp_path / "out" / f"report.{fmt}").read_text(encoding="utf-8")
    golden = GOLDEN / f"report.{fmt}"
    if os.environ.get("XHARNESS_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced, encoding="utf-8")
    assert produced == golden.read_text(encoding="utf-8")


def test_hostile_names_are_escaped_in_markdown_and_kept_in_json(tmp_path):
    results = golden_folder(tmp_path / "results")
    md = run("report", results, "--baseline", "xlmr", "--resamples", B).output
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;\\|\\*x\\*" in md
    data = json.loads(run("report", results, "--baseline", "xlmr", "--resamples", B, "-f", "json").output)
    assert HOSTILE + "|*x*" in [c["model"] for c in data["checkpoints"]]


def test_same_folder_gives_byte_identical_files(tmp_path):
    results = golden_folder(tmp_path / "results")
    outs = []
    for name in ("one", "two"):
        out = tmp_path / name
        result = run("report", results, "--baseline", "xlmr", "--resamples", 200, "-o", out)
        assert result.exit_code == 0, result.output
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert sorted(outs[0]) == sorted([
        "report.md", "report.html", "report.json",
        *(f"report-{stem}.{ext}" for stem in ("tasks", "task-classify", "task-tatoeba") for ext in ("svg", "png")),
    ])
    svg = outs[0]["report-tasks.svg"].decode("utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert outs[0]["report-tasks.png"].startswith(b"\x89PNG")
    other_seed = tmp_path / "three"
    run("report", results, "--baseline", "xlmr", "--resamples", 200, "-o", other_seed, "-f", "json", "--figures", "none", "--seed", "1")
    assert (other_seed / "report.json").read_bytes() != outs[0]["report.json"]


def test_report_json_is_not_read_back_as_a_result(tmp_path):
    results = golden_folder(tmp_path / "results")
    out = results / "report"  # inside the results folder
    assert run("report", results, "--baseline", "xlmr", "--resamples", 100, "-o", out, "--figures", "none").exit_code == 0
    again = run("report", results, "--baseline", "xlmr", "--resamples", 100, "-o", out, "--figures", "none")
    assert again.exit_code == 0, again.output


def test_figures_draw_names_literally(tmp_path):
    from xharness.leaderboard.heatmaps import Heatmap, colour, scale_limit
    from xharness.leaderboard.render_figures import save

    name = r"$\notacommand{x}$ \x1b[31m"
    heatmap = Heatmap(
        key="tasks", title=f"against {name}", row_labels=(name, "b"), column_labels=("de", "$fr$"),
        values=((1.5, None), (-3.0, 0.0)), significant=((True, False), (False, False)), caption="", column_axis="language",
        key_text="* outlined: p ≤ 0.05",
    )
    for fmt in ("svg", "png"):
        assert save(heatmap, tmp_path / f"f.{fmt}", fmt).stat().st_size > 0  # mathtext would raise on \notacommand
    assert scale_limit([1.5, -3.0, None]) == 5 and colour(0.0, 5) == "#f7f7f7"
