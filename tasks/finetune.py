"""Fine-tuning for the classification tasks (`--finetune`): XTREME's protocol on transformers' `Trainer`.

The whole encoder plus a fresh classification head (what is built: `finetune_models`; a CLIP-family
checkpoint trains its text tower alone) is trained on the English training split,
evaluated on English dev every `ft_eval_every` optimizer steps (and at the last step), the
checkpoint with the best dev accuracy is kept (`load_best_model_at_end`), and every language's
test split is predicted zero-shot with it. One training per seed. Sequence pairs go to the
tokenizer as a pair, so the model's own separator joins them. Under `torchrun` the Trainer runs
distributed data parallel (gloo on CPU); predictions are gathered on every rank.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xharness.errors import XharnessError
from xharness.tasks.base import ModelSource
from xharness.tasks.labelled_data import Examples
from xharness.tasks.options import TaskOption

# Defaults from XTREME's scripts/train_{pawsx,xnli}.sh and third_party/run_classify.py (base models):
# lr 2e-5, 5 epochs, max length 128, 8 per device x 4 accumulation = 32, save/evaluate every 200
# steps, weight decay 0, no warmup.
FINETUNE_OPTIONS = (
    TaskOption("finetune", bool, False, "fine-tune the encoder with a classification head on English (XTREME's protocol) instead of the probe"),
    TaskOption("ft_lr", float, 2e-5, "fine-tuning: peak learning rate (AdamW, linear decay)", minimum=0.0),
    TaskOption("ft_epochs", int, 5, "fine-tuning: epochs over the English training split", minimum=1),
    TaskOption("ft_batch_size", int, 8, "fine-tuning: training batch per device", minimum=1),
    TaskOption("ft_grad_accum", int, 4, "fine-tuning: gradient accumulation steps (effective batch = batch x accum x devices)", minimum=1),
    TaskOption("ft_max_length", int, 128, "fine-tuning: tokens per item (a pair counts once)", minimum=2),
    TaskOption("ft_warmup", float, 0.0, "fine-tuning: warmup as a ratio of the optimizer steps (0 <= ratio < 1)", minimum=0.0),
    TaskOption("ft_weight_decay", float, 0.0, "fine-tuning: AdamW weight decay", minimum=0.0),
    TaskOption("ft_eval_every", int, 200, "fine-tuning: evaluate on English dev and save every N optimizer steps", minimum=1),
    TaskOption("save_finetuned", str, None, "fine-tuning: save each seed's chosen model (safetensors + tokenizer) under DIR/seed-N", changes_numbers=False),
)
FINETUNE_NAMES = tuple(option.name for option in FINETUNE_OPTIONS)
EVAL_BATCH_SIZE = 32
# Trainer callbacks added to every fine-tuning: a seam for tests (interrupting a run, watching steps).
EXTRA_CALLBACKS: list = []
_TUNABLE_KINDS = ("transformers", "sentence-transformers", "text-tower")


def _check_save_folder(folder: Path) -> None:
    """--save-finetuned DIR must be a folder or not exist yet (refused before training, not after it)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise XharnessError(f"--save-finetuned {folder}: {existing} is a file, not a folder")


@dataclass(frozen=True)
class FinetuneSettings:
    lr: float
    epochs: int
    batch_size: int
    grad_accum: int
    max_length: int
    warmup: float
    weight_decay: float
    eval_every: int

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> "FinetuneSettings":
        if values["ft_warmup"] >= 1:
            raise XharnessError(f"--ft-warmup is a ratio of the optimizer steps (0 <= ratio < 1), got {values['ft_warmup']}")
        return cls(**{name[3:]: values[name] for name in FINETUNE_NAMES if name.startswith("ft_")})


@dataclass(frozen=True)
class SeedRun:
    """One seed's fine-tuning: predicted labels per language and the English dev curve."""

    predictions: dict[str, np.ndarray]
    dev_evaluations: list[tuple[int, float]]  # (optimizer step, accuracy x100)
    chosen_step: int | None
    steps: int
    max_length: int  # tokens per item as trained (ft_max_length, capped at the model's positions)


def model_folder(source: ModelSource) -> Path:
    """The checkpoint to fine-tune (a sentence-transformers folder's Transformer module), or a one-line refusal."""
    if source.kind not in _TUNABLE_KINDS or source.folder is None:
        raise XharnessError(
            "--finetune needs a transformers, sentence-transformers or CLIP-family checkpoint folder; "
            f"'{source.kind}' models cannot be fine-tuned"
        )
    folder = Path(source.folder)
    if (folder / "modules.json").is_file():
        from xharness.adapters.sentence_transformers_adapter import encoder_subfolder

        folder = encoder_subfolder(folder) or folder  # none: a module at the root (a CLIP folder)
    if not (folder / "config.json").is_file():
        raise XharnessError(f"{folder}: no config.json, so there is no transformers model to fine-tune")
    from xharness.tasks.finetune_models import check_tunable

    check_tunable(folder)
    return folder


class _Encoded:
    """A tokenised split as a map-style dataset of feature dicts (the collator pads per batch)."""

    def __init__(
        self, tokenizer, examples: Examples, label_ids: Mapping[str, int] | None, max_length: int, *, fixed: bool = False
    ) -> None:
        texts = [list(t) for t in examples.texts]
        padding = "max_length" if fixed else False  # fixed: SigLIP, trained on texts padded to its full length
        self.features = tokenizer(*texts, truncation=True, max_length=max_length, padding=padding)
        self.labels = None if label_ids is None else [label_ids[label] for label in examples.labels]

    def __len__(self) -> int:
        return len(self.features["input_ids"])

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {key: values[i] for key, values in self.features.items()}
        if self.labels is not None:
            item["labels"] = self.labels[i]
        return item


def _accuracy(prediction) -> dict[str, float]:
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    return {"accuracy": 100.0 * float((np.argmax(logits, axis=-1) == prediction.label_ids).mean())}


def _evaluate_last_step():
    from transformers import TrainerCallback

    class EvaluateLastStep(TrainerCallback):
        """XTREME keeps only evaluated checkpoints; evaluating the final step too means training's end can win."""

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == state.max_steps:
                control.should_evaluate = True
                control.should_save = True
            return control

    return EvaluateLastStep()


def _version_arguments(arguments_cls, warmup: float) -> dict[str, Any]:
    """Arguments whose names changed across transformers versions (4.x: warmup_ratio; 5.x: warmup_steps < 1 is a ratio)."""
    import inspect

    names = inspect.signature(arguments_cls.__init__).parameters
    out: dict[str, Any] = {"warmup_ratio": warmup} if "warmup_ratio" in names else {"warmup_steps": warmup}
    if "save_safetensors" in names:
        out["save_safetensors"] = True
    return out


def _distributed() -> bool:
    """Launched by torchrun / accelerate launch with more than one process."""
    import os

    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def precision(dtype: str | None, *, use_cpu: bool) -> str:
    """Mixed precision from --dtype, on GPU only (CPU trains in fp32)."""
    return "fp32" if use_cpu or dtype in (None, "fp32") else dtype


def fine_tune(
    folder: Path,
    train: Examples,
    dev: Examples | None,
    tests: Mapping[str, Examples],
    *,
    settings: FinetuneSettings,
    seed: int,
    work_dir: Path,
    labels: Sequence[str],
    use_cpu: bool,
    mixed: str = "fp32",
    save_to: Path | None = None,
) -> SeedRun:
    """Train one seed from `folder` and predict every test split; checkpoints live in `work_dir`."""
    try:
        import accelerate  # noqa: F401  (the Trainer needs it)
    except ImportError:
        raise XharnessError("--finetune needs the accelerate package (pip install 'accelerate>=0.26')") from None
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

    from xharness.tasks.finetune_models import build_classifier

    label_ids = {label: i for i, label in enumerate(labels)}
    set_seed(seed)  # before the head is initialised
    built = build_classifier(folder, labels, max_length=settings.max_length)
    tokenizer, length = built.tokenizer, built.max_length

    def encoded(examples: Examples, ids: Mapping[str, int] | None) -> _Encoded:
        return _Encoded(tokenizer, examples, ids, length, fixed=built.fixed_padding)

    has_dev = dev is not None
    args = TrainingArguments(
        **_version_arguments(TrainingArguments, settings.warmup),
        output_dir=str(work_dir),
        learning_rate=settings.lr,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=EVAL_BATCH_SIZE,
        gradient_accumulation_steps=settings.grad_accum,
        weight_decay=settings.weight_decay,
        lr_scheduler_type="linear",
        eval_strategy="steps" if has_dev else "no",
        eval_steps=settings.eval_every,
        save_strategy="steps" if has_dev else "no",
        save_steps=settings.eval_every,
        save_total_limit=1,
        load_best_model_at_end=has_dev,
        metric_for_best_model="accuracy",
        greater_is_better=True,
        logging_strategy="steps",
        logging_steps=settings.eval_every,
        seed=seed,
        data_seed=seed,
        report_to=[],
        disable_tqdm=True,
        use_cpu=use_cpu,
        ddp_backend="gloo" if use_cpu and _distributed() else None,
        bf16=mixed == "bf16",
        fp16=mixed == "fp16",
    )
    trainer = Trainer(
        model=built.model,
        args=args,
        train_dataset=encoded(train, label_ids),
        eval_dataset=encoded(dev, label_ids) if has_dev else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_accuracy,
        callbacks=([_evaluate_last_step()] if has_dev else []) + list(EXTRA_CALLBACKS),
    )
    checkpoints = sorted(Path(work_dir).glob("checkpoint-*")) if Path(work_dir).is_dir() else []
    trainer.train(resume_from_checkpoint=bool(checkpoints) or None)
    curve = [(int(e["step"]), float(e["eval_accuracy"])) for e in trainer.state.log_history if "eval_accuracy" in e]
    chosen = None
    if trainer.state.best_model_checkpoint:
        chosen = int(Path(trainer.state.best_model_checkpoint).name.split("-")[-1])
    elif not has_dev:
        chosen = int(trainer.state.global_step)
    predictions = {}
    for lang, examples in tests.items():
        logits = trainer.predict(encoded(examples, None)).predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        predictions[lang] = np.asarray(labels, dtype=object)[np.argmax(logits, axis=-1)]
    if save_to is not None:
        built.save(trainer, save_to)
    if trainer.is_world_process_zero():  # every rank has loaded the best model by now (predict synchronises)
        shutil.rmtree(work_dir, ignore_errors=True)
    return SeedRun(predictions, curve, chosen, int(trainer.state.global_step), length)


class FineTuning:
    """The classification task's fine-tuning state: settings, the model's files, and each seed's run (trained once)."""

    def __init__(self, settings: FinetuneSettings, *, seeds: list[int], save_to: Path | None) -> None:
        self.settings = settings
        self.seeds = seeds
        self.save_to = save_to
        self.source: ModelSource | None = None
        self._runs: list[SeedRun] | None = None
        self._use_cpu = True
        self._mixed = "fp32"
        self._world_size = 1
        self._tower: str | None = None  # a dual encoder's family label: its text tower is what trains

    @classmethod
    def from_options(cls, values: Mapping[str, Any], *, seeds: list[int]) -> "FineTuning":
        save = values["save_finetuned"]
        if save is not None:
            _check_save_folder(Path(save).expanduser())
        return cls(FinetuneSettings.from_options(values), seeds=seeds, save_to=None if save is None else Path(save))

    @staticmethod
    def option_names() -> tuple[str, ...]:
        return FINETUNE_NAMES

    def use(self, source: ModelSource) -> None:
        """Check the model can be fine-tuned (before any training) and keep where it is."""
        from xharness.adapters.families import dual_encoder_family

        family = dual_encoder_family(model_folder(source))
        self._tower = None if family is None else family.label
        self.source = source

    def config(self) -> dict[str, Any]:
        """The number-changing fine-tuning options, for the result's config and resume keys."""
        numbers = {f"ft_{name}": value for name, value in vars(self.settings).items()}
        return {"finetune": True, **numbers}

    def runs(self, train: Examples, dev: Examples | None, tests: Mapping[str, Examples], *, data_key: str) -> list[SeedRun]:
        """Every seed's training and predictions, done on the first call (every test split at once)."""
        if self._runs is None:
            if self.source is None:
                raise RuntimeError("the runner must call use_model_source before a fine-tuned task runs")
            import torch

            from xharness.hashing import digest

            folder = model_folder(self.source)
            self._use_cpu = self.source.device == "cpu" or not torch.cuda.is_available()
            self._mixed = precision(self.source.dtype, use_cpu=self._use_cpu)
            labels = sorted(set(train.labels))
            key = digest({"model": self.source.fingerprint, "data": data_key, "settings": vars(self.settings), "mixed": self._mixed})
            root = (self.source.work_dir or Path(".")) / f"finetune-{key[:16]}"
            runs = []
            for seed in self.seeds:
                save = None if self.save_to is None else self.save_to / f"seed-{seed}"
                runs.append(fine_tune(
                    folder, train, dev, tests, settings=self.settings, seed=seed, work_dir=root / f"seed-{seed}",
                    labels=labels, use_cpu=self._use_cpu, mixed=self._mixed, save_to=save,
                ))
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                self._world_size = torch.distributed.get_world_size()
            if self._world_size == 1 or torch.distributed.get_rank() == 0:
                try:
                    root.rmdir()  # each seed's folder is gone; resume needs nothing once predictions exist
                except OSError:
                    pass
            self._runs = runs
        return self._runs

    def protocol(self, *, pair: bool) -> dict[str, Any]:
        s = self.settings
        protocol: dict[str, Any] = {
            "name": "finetune",
            "train_language": "en",
            "model": (
                "AutoModelForSequenceClassification from the checkpoint (encoder + a new linear head), all weights trained"
                if self._tower is None else
                f"{self._tower}'s text tower alone (its text class; vision weights not loaded) + a new linear head on "
                "its projected text features, all text weights trained"
            ),
            "input": "the two texts as a tokenizer pair (the model's own separator)" if pair else "the text",
            "trainer": "transformers Trainer: AdamW, linear decay after warmup, max_grad_norm 1.0",
            "hyperparameters": {f"ft_{name}": value for name, value in vars(s).items()},
            "selection": (
                f"the checkpoint with the best English dev accuracy, evaluated every {s.eval_every} optimizer steps "
                "and at the last step (ties: the earlier step); no dev split: the last step"
            ),
            "seeds": list(self.seeds),
            "main": "accuracy x100 on each language's test split, mean over seeds",
            "spread": "sample standard deviation (ddof=1) over seeds, x100",
            "macro_f1": "mean F1 over the labels present in that test split's gold labels",
            "items": "predictions of the first seed",
        }
        if self._runs is not None:
            protocol["precision"] = self._mixed
            protocol["effective_batch_size"] = s.batch_size * s.grad_accum * self._world_size
            protocol["optimizer_steps"] = [run.steps for run in self._runs]
            protocol["dev_evaluations"] = [[list(point) for point in run.dev_evaluations] for run in self._runs]
            protocol["chosen_step"] = [run.chosen_step for run in self._runs]
            if self._tower is not None or self._runs[0].max_length != s.max_length:  # capped at the model's positions
                protocol["max_length"] = self._runs[0].max_length
        return protocol
