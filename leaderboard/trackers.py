"""Logging results to an experiment tracker (TensorBoard or Weights & Biases), only when asked and installed.

A tracker is named by one spec, the same for `xharness eval --log-to` (the results that run
writes) and `xharness export --log-to` (every result under a folder):

- ``tensorboard[:DIR]``: event files under DIR (default ``runs``), one run folder per result,
  ``DIR/<result path without .json>`` (``runs/demo/usem3/tatoeba``), written through
  ``torch.utils.tensorboard`` (needs the ``tensorboard`` package: ``pip install 'xharness[tensorboard]'``).
- ``wandb[:PROJECT]``: one W&B run per result in PROJECT (default: ``$WANDB_PROJECT``, else
  ``xharness``), named ``<model label>/<task>``, grouped by model, job type = the task. Online or
  offline is W&B's own setting (``WANDB_MODE=offline`` writes under ``$WANDB_DIR`` without network;
  ``wandb sync`` uploads later). Needs ``pip install 'xharness[wandb]'``.

What a run holds (one run = one model on one task): scalars ``main_score/<lang>``,
``<metric>/<lang>`` for every recorded metric, ``n/<lang>``, and ``main_score/mean`` (the
unweighted mean over the result's languages), all at step 0; as hyperparameters (TensorBoard's
HParams tab, W&B's run config) the flattened model record, task record (name, version, split,
protocol, data fingerprint), the run config (batch size, k, margin, limit, seeds...) and the
leaderboard's data label. Logging the same result again adds another event file / W&B run; it
never edits what a tracker already holds.
"""

from __future__ import annotations

import importlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Sequence

from xharness.errors import XharnessError
from xharness.results import TaskResult

TRACKERS = ("tensorboard", "wandb")
DEFAULT_TENSORBOARD_DIR = "runs"
DEFAULT_WANDB_PROJECT = "xharness"
_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


@dataclass(frozen=True)
class TrackerSpec:
    """`kind` is tensorboard or wandb; `target` the log folder (tensorboard) or project (wandb), None for the default."""

    kind: str
    target: str | None = None

    def __str__(self) -> str:
        return self.kind + (f":{self.target}" if self.target else "")


@dataclass(frozen=True)
class TrackedResult:
    """One result to log: `run` is its path under the results folder without `.json`; `label` how the model reads."""

    run: str
    label: str
    result: TaskResult


def parse_tracker(spec: str) -> TrackerSpec:
    """`tensorboard`, `tensorboard:DIR`, `wandb` or `wandb:PROJECT` (see the module docstring)."""
    kind, _, target = spec.strip().partition(":")
    if kind not in TRACKERS:
        raise XharnessError(f"--log-to {spec}: unknown tracker (expected tensorboard[:DIR] or wandb[:PROJECT])")
    if _ and not target.strip():
        raise XharnessError(f"--log-to {spec}: nothing after ':' (give a folder for tensorboard, a project for wandb)")
    return TrackerSpec(kind, target.strip() or None)


def require(spec: TrackerSpec) -> None:
    """Refuse, in one line, a tracker whose package is not installed or whose folder cannot be written (before any work)."""
    if spec.kind == "tensorboard":
        _check_folder(spec, Path(spec.target or DEFAULT_TENSORBOARD_DIR))
    package = _PACKAGES[spec.kind]
    try:
        if spec.kind == "tensorboard":
            importlib.import_module("tensorboard")
            importlib.import_module("torch.utils.tensorboard")
        else:
            importlib.import_module("wandb")
    except ImportError:
        raise XharnessError(f"--log-to {spec.kind} needs the {package} package: pip install 'xharness[{spec.kind}]'") from None


def _check_folder(spec: TrackerSpec, folder: Path) -> None:
    """The log folder, or the nearest part of its path that exists, must be a writable folder."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise XharnessError(f"--log-to {spec}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise XharnessError(f"--log-to {spec}: cannot write in {existing} (permission denied)")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def scalars(result: TaskResult) -> dict[str, float]:
    """`main_score/<lang>`, `<metric>/<lang>`, `n/<lang>` and `main_score/mean`, in a stable order."""
    out: dict[str, float] = {}
    for lang in sorted(result.scores):
        score = result.scores[lang]
        for metric, value in {"main_score": score.main_score, **dict(score.metrics), "n": score.n}.items():
            if _finite(value):
                out[f"{metric}/{lang}"] = float(value)
    mains = [s.main_score for s in result.scores.values() if _finite(s.main_score)]
    if mains:
        out["main_score/mean"] = sum(mains) / len(mains)
    return out


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            _flatten(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    else:  # lists and the like: one readable value (trackers' hyperparameters are scalars)
        out[prefix] = json.dumps(value, sort_keys=True, default=str)


def hyperparameters(tracked: TrackedResult) -> dict[str, Any]:
    """The flattened model, task (with its protocol) and config records, the data label and the result's path.

    The task's per-language file list (`data_files`) is left out: two keys per language would bury
    the settings; `task.data_fingerprint` and the data label stand for it.
    """
    from xharness.leaderboard.data_identity import identify, unknown_identity

    r = tracked.result
    identity = identify(r) or unknown_identity([r], limit=None)
    out: dict[str, Any] = {"source": tracked.run, "label": tracked.label, "data": identity.label}
    _flatten("model", r.model, out)
    _flatten("task", {k: v for k, v in r.task.items() if k != "data_files"}, out)
    _flatten("config", r.config, out)
    return out


def _log_tensorboard(results: Sequence[TrackedResult], folder: Path) -> list[str]:
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    written = []
    for tracked in results:
        values = scalars(tracked.result)
        params = {k: ("none" if v is None else v) for k, v in hyperparameters(tracked).items()}
        run_dir = folder.joinpath(*PurePosixPath(tracked.run).parts)
        try:
            writer = SummaryWriter(log_dir=str(run_dir))
        except OSError as error:  # checked up front, but the disk may still refuse (a read-only mount, a full disk)
            raise XharnessError(f"--log-to tensorboard:{folder}: cannot write {run_dir} ({error.strerror or error})") from None
        with writer:
            for tag, value in values.items():
                writer.add_scalar(tag, value, global_step=0)
            # The HParams tab: the same three summaries add_hparams writes, but in this run's folder
            # (add_hparams would open a second, timestamped one).
            metrics = {k: v for k, v in values.items() if k.startswith("main_score/")}
            for summary in hparams(params, metrics):
                writer.file_writer.add_summary(summary)
            writer.add_text("config", "```json\n" + json.dumps(params, indent=2, ensure_ascii=False) + "\n```")
        written.append(str(run_dir))
    return written


def _log_wandb(results: Sequence[TrackedResult], project: str | None) -> list[str]:
    import wandb

    project = project or os.environ.get("WANDB_PROJECT") or DEFAULT_WANDB_PROJECT
    written = []
    for tracked in results:
        task = tracked.result.task["name"]
        run = wandb.init(project=project, name=f"{tracked.label}/{task}", group=tracked.label, job_type=task,
                         config=hyperparameters(tracked))
        try:
            run.log(scalars(tracked.result), step=0)
        finally:
            run.finish()
        written.append(f"wandb run {project}/{tracked.label}/{task}")
    return written


def log_results(results: Sequence[TrackedResult], spec: TrackerSpec) -> list[str]:
    """Log each result as one tracker run; returns where each went (a folder, or the W&B run's name)."""
    require(spec)
    if spec.kind == "tensorboard":
        return _log_tensorboard(results, Path(spec.target or DEFAULT_TENSORBOARD_DIR))
    return _log_wandb(results, spec.target)
