"""`--log-to tensorboard[:DIR]|wandb[:PROJECT]` (eval and export): what each run holds, read back with the
trackers' own readers (TensorBoard's EventAccumulator; W&B's offline run file), and the one-line refusal
when the package is missing. No network: W&B runs with WANDB_MODE=offline."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_cli import tatoeba_dir  # noqa: F401  (fixture)
from test_compare import pattern, tatoeba
from xharness.cli import main
from xharness.errors import XharnessError
from xharness.leaderboard.trackers import TrackerSpec, parse_tracker


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def tree(tmp_path):
    """base (de 60, fr 50) at the top, and a second 'base' (de 70) under demo/."""
    root = tmp_path / "results"
    tatoeba("base", {"de": pattern(100, 60), "fr": pattern(100, 50)}).to_disk(root)
    tatoeba("base", {"de": pattern(100, 70)}).to_disk(root / "demo")
    return root


@pytest.mark.parametrize("spec, parsed", [
    ("tensorboard", TrackerSpec("tensorboard")),
    ("tensorboard:runs/x", TrackerSpec("tensorboard", "runs/x")),
    ("wandb", TrackerSpec("wandb")),
    ("wandb:my-project", TrackerSpec("wandb", "my-project")),
])
def test_specs(spec, parsed):
    assert parse_tracker(spec) == parsed


@pytest.mark.parametrize("spec, message", [("mlflow", "unknown tracker"), ("wandb:", "nothing after ':'")])
def test_bad_specs(spec, message):
    with pytest.raises(XharnessError, match=message):
        parse_tracker(spec)


def scalars_of(run_dir: Path):
    """(scalars at step 0, tensor tags, hparams plugin content by tag) of one run folder, read by TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    values = {tag: acc.Scalars(tag)[-1].value for tag in tags["scalars"]}
    assert all(acc.Scalars(tag)[-1].step == 0 for tag in tags["scalars"])
    return values, tags["tensors"], acc.PluginTagToContent("hparams")


def test_tensorboard_one_run_per_result_read_back(tree, tmp_path):
    pytest.importorskip("tensorboard")
    logs = tmp_path / "tb"
    out = run("export", tree, "--log-to", f"tensorboard:{logs}")
    assert out.exit_code == 0, out.output
    assert sorted(p.relative_to(logs).as_posix() for p in logs.rglob("events.out.tfevents.*")
                  for p in [p.parent]) == ["base/tatoeba", "demo/base/tatoeba"]
    values, tensors, hparams = scalars_of(logs / "base" / "tatoeba")
    assert values["main_score/de"] == pytest.approx(60.0) and values["main_score/fr"] == pytest.approx(50.0)
    assert values["accuracy/de"] == pytest.approx(60.0)
    assert values["n/de"] == 100 and values["main_score/mean"] == pytest.approx(55.0)
    assert "config/text_summary" in tensors
    assert sorted(hparams) == ["_hparams_/experiment", "_hparams_/session_end_info", "_hparams_/session_start_info"]
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"])
    params = start.session_start_info.hparams
    assert params["task.name"].string_value == "tatoeba" and params["label"].string_value == "base [base]"
    assert params["config.limit"].string_value == "none" and params["source"].string_value == "base/tatoeba"
    assert params["task.data_fingerprint"].string_value and not any(k.startswith("task.data_files") for k in params)
    demo, _, _ = scalars_of(logs / "demo" / "base" / "tatoeba")
    assert demo["main_score/de"] == pytest.approx(70.0) and "main_score/fr" not in demo


def test_eval_logs_the_results_it_writes(tiny_bert_dir, tatoeba_dir, tmp_path):  # noqa: F811
    pytest.importorskip("tensorboard")
    logs = tmp_path / "tb"
    out = run("eval", tiny_bert_dir, "-l", "de,fr", "--data-dir", tatoeba_dir, "-o", tmp_path / "results", "--name", "tiny",
              "--log-to", f"tensorboard:{logs}")
    assert out.exit_code == 0, out.output
    assert f"logged: {logs / 'tiny' / 'tatoeba'}" in out.output
    written = json.loads((tmp_path / "results" / "tiny" / "tatoeba.json").read_text())
    values, _, _ = scalars_of(logs / "tiny" / "tatoeba")
    assert values["main_score/de"] == pytest.approx(written["scores"]["de"]["main_score"]) and values["n/de"] == 4
    assert sorted(written["scores"]) == ["de", "fr"] and "main_score/fr" in values  # -l takes a comma-separated list too
    # Run again: the result is finished and skipped. Was: nothing logged and nothing said.
    again = run("eval", tiny_bert_dir, "-l", "de", "-l", "fr", "--data-dir", tatoeba_dir, "-o", tmp_path / "results",
                "--name", "tiny", "--log-to", f"tensorboard:{logs}", "--quiet")
    assert again.exit_code == 0 and "logged:" not in again.output, again.output
    assert "not logged (finished before this run, skipped)" in again.stderr and "xharness export" in again.stderr


@pytest.mark.parametrize("tracker, package", [("wandb", "wandb"), ("tensorboard", "tensorboard")])
def test_a_missing_package_is_one_line_before_any_work(tree, tmp_path, monkeypatch, tracker, package):
    monkeypatch.setitem(sys.modules, package, None)  # import now raises ImportError, as when not installed
    expected = f"xharness: error: --log-to {tracker} needs the {package} package: pip install 'xharness[{tracker}]'"
    for args in (["export", tree, "--log-to", tracker], ["eval", tmp_path / "no-such-model", "--log-to", tracker]):
        out = run(*args)
        assert out.exit_code == 2 and out.output.strip().splitlines() == [expected], out.output


def test_export_needs_a_format_or_a_tracker(tree):
    out = run("export", tree)
    assert out.exit_code == 2 and "give -f/--format (mteb, long, jsonl) or --log-to" in out.output


# -- W&B, offline ---------------------------------------------------------------------------


def wandb_records(path: Path):
    """The records of a W&B run file (`run-<id>.wandb`): a 7-byte header, then 32 KiB blocks of
    [crc 4 | length 2 | type 1 | data] chunks (types: 1 full, 2 first, 3 middle, 4 last)."""
    from wandb.proto import wandb_internal_pb2

    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # the block's tail is padding
            pos += block - pos % block
            continue
        length, kind = struct.unpack("<HB", data[pos + 4: pos + 7])
        if kind == 0:
            break
        pending += data[pos + 7: pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def test_wandb_offline_one_run_per_result(tree, tmp_path):
    pytest.importorskip("wandb")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
           "WANDB_DISABLE_GIT": "true", "WANDB_CONFIG_DIR": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-m", "xharness", "export", str(tree), "--log-to", "wandb:xh-test"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "logged: wandb run xh-test/base [base]/tatoeba" in done.stderr
    runs = {}
    for path in (tmp_path / "wandb").glob("offline-run-*/run-*.wandb"):
        info, config, history = None, {}, {}
        for record in wandb_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                info = record.run
                config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
            elif kind == "config":
                config.update({i.key: json.loads(i.value_json) for i in record.config.update})
            elif kind == "history":
                history.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
        runs[info.display_name] = (info, config, history)
    assert sorted(runs) == ["base [base]/tatoeba", "base [demo/base]/tatoeba"]
    info, config, history = runs["base [base]/tatoeba"]
    assert info.project == "xh-test" and info.run_group == "base [base]" and info.job_type == "tatoeba"
    assert config["task.name"] == "tatoeba" and config["source"] == "base/tatoeba" and config["model.name"] == "base"
    assert history["main_score/de"] == 60.0 and history["n/fr"] == 100 and history["main_score/mean"] == 55.0


def test_a_tensorboard_folder_that_is_a_file_is_one_line_before_any_work(tree, tmp_path):
    # Was: the writer's NotADirectoryError as a traceback, after eval had run (or after export had logged).
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder", encoding="utf-8")
    for spec in (f"tensorboard:{blocker}", f"tensorboard:{blocker}/runs"):
        for args in (["export", tree, "--log-to", spec], ["eval", tmp_path / "no-such-model", "--log-to", spec]):
            out = run(*args)
            assert out.exit_code == 2 and out.output.strip().splitlines() == [
                f"xharness: error: --log-to {spec}: {blocker} is a file, not a folder"], out.output


def test_a_tensorboard_folder_the_disk_refuses_is_one_line(tree, monkeypatch, tmp_path):
    import xharness.leaderboard.trackers as trackers

    monkeypatch.setattr(trackers, "_check_folder", lambda spec, folder: None)  # the disk refuses later than the check
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = run("export", tree, "--log-to", f"tensorboard:{tmp_path / 'afile'}")
    assert out.exit_code == 2 and isinstance(out.exception, SystemExit), out.output
    assert len(out.output.strip().splitlines()) == 1 and "cannot write" in out.output


def test_export_mteb_without_out_is_refused_before_anything_is_logged(tree, tmp_path):
    out = run("export", tree, "-f", "mteb", "--log-to", f"tensorboard:{tmp_path / 'tb'}")
    assert out.exit_code == 2 and "--format mteb needs -o/--out" in out.output and "logged" not in out.output
    assert not (tmp_path / "tb").exists()
