"""A result file is the union of the runs that agree; a run that disagrees is refused, never skipped.

Also: resume keys hold only what changes numbers, one run never deletes another's partials,
concurrent runs into one folder keep every language, slugs never collide silently, old result
files are read through the migration, and task options are declared once.
"""

import inspect
import json
import multiprocessing
import shutil

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import CountingAdapter as Counting
from xharness.cli import main
from xharness.errors import XharnessError
from xharness.partials import PartialStore
from xharness.results import SCHEMA_VERSION, TaskResult, load_items, model_slug
from xharness.runner import EvalRequest, RunOptions, run_eval
from xharness.tasks import TASKS

LANGS = {
    "deu": ["Ich habe Hunger.", "Das Haus ist rot.", "Wo ist der Bahnhof?", "Heute regnet es."],
    "fra": ["J'ai faim.", "La maison est rouge.", "Où est la gare ?", "Il pleut aujourd'hui."],
    "spa": ["Tengo hambre.", "La casa es roja.", "¿Dónde está la estación?", "Hoy llueve."],
}
EN = ["I am hungry.", "The house is red.", "Where is the station?", "It is raining today."]
SHORT = {"deu": "de", "fra": "fr", "spa": "es"}


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for code, sentences in LANGS.items():
        (folder / f"tatoeba.{code}-eng.{code}").write_text("\n".join(sentences) + "\n", encoding="utf-8")
        (folder / f"tatoeba.{code}-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    return folder


def request(data_dir, out, langs, **run):
    return EvalRequest(model="m", data_dir=data_dir, languages=tuple(langs), run=RunOptions(out_dir=out, cache=False, **run))


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_languages_of_two_runs_add_up(data_dir, tmp_path):
    out = tmp_path / "r"
    first = run_eval(request(data_dir, out, ["de"]), adapter=Counting()).results[0]
    second = Counting()
    merged = run_eval(request(data_dir, out, ["fr"]), adapter=second).results[0]
    assert list(merged.scores) == ["de", "fr"]
    assert merged.scores["de"] == first.scores["de"]
    assert not any(text in second.encoded for text in LANGS["deu"])  # German kept, not recomputed
    on_disk = TaskResult.from_disk(out / "m" / "tatoeba.json")
    assert on_disk.task["languages"] == ["de", "fr"] and set(load_items(out / "m" / "tatoeba.json")) == {"de", "fr"}
    assert on_disk.run["kept_languages"] == ["de"]
    whole = run_eval(request(data_dir, tmp_path / "whole", ["de", "fr"]), adapter=Counting()).results[0]
    assert on_disk.scores == whole.scores and on_disk.task["data_fingerprint"] == whole.task["data_fingerprint"]


def test_another_model_under_the_same_name_is_refused_not_skipped(data_dir, tmp_path):
    out = tmp_path / "r"
    run_eval(request(data_dir, out, ["de"]), adapter=Counting())
    before = snapshot(out)
    with pytest.raises(XharnessError, match="another model's results.*--name or -o.*--overwrite"):
        run_eval(request(data_dir, out, ["de"]), adapter=Counting(fingerprint="other-weights"))
    assert snapshot(out) == before
    replaced = run_eval(request(data_dir, out, ["de"], overwrite=True), adapter=Counting(fingerprint="other-weights"))
    assert replaced.results[0].model["fingerprint"] == "other-weights"


def test_other_number_changing_options_are_refused(data_dir, tmp_path):
    out = tmp_path / "r"
    run_eval(request(data_dir, out, ["de"]), adapter=Counting())
    before = snapshot(out)
    other = EvalRequest(model="m", data_dir=data_dir, languages=("fr",), task_options={"k": 2}, run=RunOptions(out_dir=out, cache=False))
    with pytest.raises(XharnessError, match=r"other options \(k=4 there, 2 now\)"):
        run_eval(other, adapter=Counting())
    assert snapshot(out) == before


def test_a_language_scored_on_other_data_is_refused_unless_overwrite(data_dir, tmp_path):
    out = tmp_path / "r"
    run_eval(request(data_dir, out, ["de"]), adapter=Counting())
    (data_dir / "tatoeba.deu-eng.deu").write_text("\n".join(reversed(LANGS["deu"])) + "\n", encoding="utf-8")
    with pytest.raises(XharnessError, match="language 'de' was scored on other data"):
        run_eval(request(data_dir, out, ["de", "fr"]), adapter=Counting())
    assert set(run_eval(request(data_dir, out, ["de"], overwrite=True), adapter=Counting()).results[0].scores) == {"de"}


def test_batch_size_is_not_part_of_the_resume_key(data_dir, tmp_path):
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run_eval(request(data_dir, out, ["de", "fr"], batch_size=32), adapter=Counting(fail_on=LANGS["fra"][0]))
    resumed = Counting()
    result = run_eval(request(data_dir, out, ["de", "fr"], batch_size=3), adapter=resumed).results[0]
    assert result.run["reused_languages"] == ["de"] and result.run["batch_size"] == 3
    assert "batch_size" not in result.config
    assert not any(text in resumed.encoded for text in LANGS["deu"])


def test_a_finishing_run_keeps_another_runs_partials(data_dir, tmp_path):
    out = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):  # another model's run dies after German
        run_eval(request(data_dir, out / "shared", ["de", "fr"]), adapter=Counting(fail_on=LANGS["fra"][0], fingerprint="b"))
    theirs = sorted((out / "shared" / "m" / ".partial" / "tatoeba").glob("*.json"))
    assert len(theirs) == 1
    store = PartialStore(out / "shared", "m", "tatoeba")
    store.discard({"de": "a" * 64})  # another key: removes nothing of theirs
    assert sorted(store.folder.glob("*.json")) == theirs


def _eval_languages(data_dir, out_dir, langs):
    run_eval(request(data_dir, out_dir, langs), adapter=Counting())


def test_concurrent_runs_with_different_languages_keep_both(data_dir, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_eval_languages, args=(data_dir, tmp_path / "r", langs)) for langs in (["de"], ["fr", "es"])]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    result = TaskResult.from_disk(tmp_path / "r" / "m" / "tatoeba.json")
    assert set(result.scores) == {"de", "fr", "es"}
    assert set(load_items(tmp_path / "r" / "m" / "tatoeba.json")) == {"de", "fr", "es"}
    assert sorted(p.name for p in (tmp_path / "r" / "m").iterdir()) == ["tatoeba.items.json", "tatoeba.json"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.lists(st.sampled_from(["de", "fr", "es"]), min_size=1, max_size=3, unique=True), st.sampled_from([None, "deu", "fra", "spa"])),
        min_size=1,
        max_size=5,
    )
)
def test_any_sequence_of_runs_and_interrupts_ends_equal_to_one_run(data_dir, tmp_path_factory, steps):
    """Evaluate random language subsets, each possibly killed in some language; every finished language stays."""
    out = tmp_path_factory.mktemp("seq")
    finished: set[str] = set()
    for langs, die_in in steps:
        adapter = Counting(fail_on=LANGS[die_in][1] if die_in else None)
        try:
            run_eval(request(data_dir, out, langs), adapter=adapter)
            finished |= set(langs)
        except KeyboardInterrupt:
            pass
    target = out / "m" / "tatoeba.json"
    if not finished:
        assert not target.exists()
        return
    result = TaskResult.from_disk(target)
    assert set(result.scores) == finished
    reference = run_eval(request(data_dir, out.parent / f"{out.name}-ref", sorted(finished)), adapter=Counting()).results[0]
    assert {lang: result.scores[lang] for lang in reference.scores} == reference.scores
    items = load_items(target)
    reference_items = load_items(out.parent / f"{out.name}-ref" / "m" / "tatoeba.json")
    assert {lang: items[lang] for lang in reference_items} == reference_items


def test_slugs_never_collide_silently():
    assert model_slug("模型一") != model_slug("模型二")
    assert model_slug("模型一") == model_slug("模型一")  # stable
    assert model_slug("Café") == "cafe"
    long = model_slug("x" * 300)
    assert len(long) <= 80 and long != model_slug("x" * 299)
    assert model_slug("///") == "model"


def test_two_checkpoints_whose_folders_share_a_name_cli(tmp_path, tiny_bert_dir, data_dir):
    first, second = tmp_path / "run1" / "final", tmp_path / "run2" / "final"
    shutil.copytree(tiny_bert_dir, first)
    shutil.copytree(tiny_bert_dir, second)
    (second / "generation_config.json").write_text("{}\n", encoding="utf-8")  # other files: another fingerprint
    out = tmp_path / "r"
    args = ["-l", "de", "--data-dir", str(data_dir), "-o", str(out), "--no-cache"]
    assert CliRunner().invoke(main, ["eval", str(first), *args]).exit_code == 0
    before = snapshot(out)
    refused = CliRunner().invoke(main, ["eval", str(second), *args])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    lines = [line for line in refused.stderr.splitlines() if line.startswith("xharness:")]
    assert len(lines) == 1 and "another model's results" in lines[0] and "--name" in lines[0]
    assert snapshot(out) == before


def test_a_version_1_result_is_read_through_the_migration(tmp_path, data_dir):
    out = tmp_path / "r"
    path = run_eval(request(data_dir, out, ["de"]), adapter=Counting()).paths[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    config = data["config"]
    data["schema_version"] = 1
    data["config"] = {"limit": config["limit"], "margin": config["margin"], "margin_k": config["k"], "batch_size": 32}
    del data["run"]["batch_size"]
    path.write_text(json.dumps(data), encoding="utf-8")
    old = TaskResult.from_disk(path)
    assert old.schema_version == SCHEMA_VERSION == 2
    assert old.config == config and old.run["batch_size"] == 32
    # and an old result agrees with a new run of the same model: its languages are kept
    merged = run_eval(request(data_dir, out, ["fr"]), adapter=Counting()).results[0]
    assert list(merged.scores) == ["de", "fr"]


def test_task_options_are_declared_once_and_match_the_constructors():
    for name in TASKS.names():
        task_cls = TASKS.get(name)
        keywords = {
            p.name for p in inspect.signature(task_cls.__init__).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        assert keywords == {"limit"} | {option.name for option in task_cls.options}, name
    listed = CliRunner().invoke(main, ["tasks"]).output
    for flag in ("--k", "--margin", "--retrieval", "--index", "--protocol", "--seeds", "--probe-train-size"):
        assert f"option {flag} " in listed
    help_text = CliRunner().invoke(main, ["eval", "--help"]).output
    assert "--retrieval [max|fwd|bwd|intersect]" in help_text
    assert "--split [dev|devtest|test]" in help_text  # two tasks' choices pooled; each task checks its own
    from xharness.tasks.options import TaskOption, merged

    with pytest.raises(ValueError, match="different types"):
        merged([(TaskOption("x", int, 1, "a"),), (TaskOption("x", str, "1", "b"),)])


def test_an_option_no_requested_task_declares_is_refused(data_dir, tmp_path):
    bad = EvalRequest(model="m", data_dir=data_dir, languages=("de",), task_options={"seeds": 2}, run=RunOptions(out_dir=tmp_path))
    with pytest.raises(XharnessError, match="--seeds does not apply to task"):
        run_eval(bad, adapter=Counting())
    bad_value = EvalRequest(model="m", data_dir=data_dir, languages=("de",), task_options={"margin": "cosine"}, run=RunOptions(out_dir=tmp_path))
    with pytest.raises(XharnessError, match="--margin must be one of ratio, distance, absolute"):
        run_eval(bad_value, adapter=Counting())
