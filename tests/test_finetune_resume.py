"""An interrupted `--finetune` resumes from its last evaluation checkpoint; a finished one is reused.

The interruption is real: a Trainer callback (through `finetune.EXTRA_CALLBACKS`, the tests' seam)
raises right after the checkpoint of step 27 is written, in the middle of an epoch (6 optimizer
steps per epoch), and the same request is run again.
"""

import pytest

from test_finetune import _finetune, marker_data, one_thread  # noqa: F401  (fixtures)
from xharness.tasks import finetune

pytest.importorskip("accelerate")

EVERY = dict(ft_eval_every=9)  # checkpoints at 9, 18, 27, ...: 27 is half-way through epoch 5


class Interrupted(Exception):
    pass


def _callbacks(*, stop_after=None):
    from transformers import TrainerCallback

    class Watch(TrainerCallback):
        """Where training began (after any resume) and the first optimizer step it took."""

        def __init__(self):
            self.began, self.first_step = [], []

        def on_train_begin(self, args, state, control, **kwargs):
            self.began.append(state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if len(self.first_step) < len(self.began):
                self.first_step.append(state.global_step)

    class StopAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if stop_after is not None and state.global_step >= stop_after:
                raise Interrupted(state.global_step)

    watch = Watch()
    return watch, [watch, StopAfterSave()]


@pytest.mark.slow  # three tiny-BERT trainings (~15 s on a shared CPU)
def test_interrupted_fine_tuning_resumes_from_its_checkpoint_and_matches_an_uninterrupted_run(
    tiny_bert_dir, marker_data, tmp_path, monkeypatch, one_thread,
):
    whole = _finetune(tiny_bert_dir, marker_data, tmp_path / "whole", seeds=1, **EVERY).results[0]

    out = tmp_path / "interrupted"
    watch, callbacks = _callbacks(stop_after=27)
    monkeypatch.setattr(finetune, "EXTRA_CALLBACKS", callbacks)
    with pytest.raises(Interrupted):
        _finetune(tiny_bert_dir, marker_data, out, seeds=1, **EVERY)
    saved = sorted(p.name for p in out.rglob("checkpoint-*"))
    assert "checkpoint-27" in saved and not list(out.glob("*/classify.json"))

    watch, callbacks = _callbacks()
    monkeypatch.setattr(finetune, "EXTRA_CALLBACKS", callbacks)
    resumed = _finetune(tiny_bert_dir, marker_data, out, seeds=1, **EVERY).results[0]
    # The Trainer restored the checkpoint's state: it went on at step 28, not from step 0.
    assert watch.began == [27] and watch.first_step == [28]
    assert not list(out.rglob("checkpoint-*"))  # removed once the predictions exist
    # Resuming restores weights, optimizer, scheduler, RNG states and the data order (the batches
    # of epoch 5 already seen are skipped), so on one CPU the run is the uninterrupted one: the same
    # dev curve (the steps before 27 come from the checkpoint's log), chosen step and predictions.
    protocol, reference = resumed.task["protocol"], whole.task["protocol"]
    assert protocol["dev_evaluations"] == reference["dev_evaluations"]
    assert protocol["chosen_step"] == reference["chosen_step"] and protocol["optimizer_steps"] == [60]
    for lang, score in whole.scores.items():
        assert resumed.items[lang]["predicted"] == whole.items[lang]["predicted"], lang
        assert resumed.scores[lang].main_score == score.main_score

    # A finished (model, task, hyperparameters, seeds) is reused: nothing trains again.
    watch, callbacks = _callbacks()
    monkeypatch.setattr(finetune, "EXTRA_CALLBACKS", callbacks)
    again = _finetune(tiny_bert_dir, marker_data, out, seeds=1, **EVERY)
    assert again.skipped and not again.results and watch.began == []
