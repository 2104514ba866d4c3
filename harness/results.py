"""Result files: one JSON per (model, task), validated on load, written atomically.

`results/<model-slug>/<task>.json` holds the scores; `<task>.items.json` beside it holds the
per-item outcomes, so two runs can be compared item by item. Old formats, if ever, are
migrated apart from this module, keyed on `schema_version`.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from xharness.errors import XharnessError
from xharness.fileio import atomic_write_json
from xharness.textfiles import read_bytes

SCHEMA_VERSION = 2  # 2: config.k (was Tatoeba's margin_k); batch_size under run (see migrations)
ITEMS_SUFFIX = ".items.json"


# Folder names stay well under file systems' 255-byte limit, with room for a task's file names.
MAX_SLUG = 80


def model_slug(name: str) -> str:
    """A folder-safe name: lowercase ASCII, runs of other characters become one '-'.

    Accents are folded (é -> e). A name that loses characters it cannot spell in ASCII (Chinese,
    Cyrillic, ...) or is too long gets a short hash of the whole name, so two such names never
    share a folder.

    >>> model_slug("XLM-R Large (MNLI)")
    'xlm-r-large-mnli'
    >>> model_slug("模型一") != model_slug("模型二")
    True
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9._]+", "-", folded.lower()).strip("-.")
    lossy = any(not ch.isascii() and unicodedata.category(ch)[0] in "LN" for ch in unicodedata.normalize("NFKD", name))
    if lossy or len(slug) > MAX_SLUG:
        suffix = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
        slug = f"{(slug or 'model')[: MAX_SLUG - 11].rstrip('-.')}-{suffix}"
    return slug or "model"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for dist in ("xharness", "numpy", "faiss-cpu", "torch", "transformers", "sentence-transformers", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass(frozen=True)
class LanguageScore:
    """One language's numbers: `main_score` plus every metric, and how many items they count."""

    main_score: float
    metrics: Mapping[str, float]
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"main_score": self.main_score, **dict(self.metrics), "n": self.n}


@dataclass
class TaskResult:
    """Everything that makes one (model, task) number reproducible."""

    task: dict[str, Any]
    model: dict[str, Any]
    config: dict[str, Any]
    scores: dict[str, LanguageScore]
    timing: dict[str, float]
    versions: dict[str, str] = field(default_factory=library_versions)
    items: dict[str, dict[str, list]] | None = None  # per-language per-item outcomes (sidecar)
    run: dict[str, Any] = field(default_factory=dict)  # how this run went: cache hits, reused languages
    layer_scores: dict[int, dict[str, LanguageScore]] | None = None  # a layer sweep's scores per layer
    schema_version: int = SCHEMA_VERSION

    @property
    def main_metric(self) -> str:
        return self.task["main_metric"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "task": self.task,
            "model": self.model,
            "config": self.config,
            "scores": {lang: score.to_dict() for lang, score in self.scores.items()},
            "versions": self.versions,
            "timing": self.timing,
            "run": self.run,
            **(
                {"layers": {str(layer): {lang: sc.to_dict() for lang, sc in by_lang.items()} for layer, by_lang in self.layer_scores.items()}}
                if self.layer_scores
                else {}
            ),
            "items_file": self.items_filename if self.items is not None else None,
        }

    @property
    def items_filename(self) -> str:
        return f"{self.task['name']}{ITEMS_SUFFIX}"

    def path_in(self, out_dir: Path) -> Path:
        return Path(out_dir) / self.model["slug"] / f"{self.task['name']}.json"

    def to_disk(self, out_dir: Path) -> Path:
        """Write the sidecar first, then the result: a result file never names a missing sidecar."""
        path = self.path_in(out_dir)
        payload = self.to_dict()
        validate(payload, source=str(path))  # a number out of its range is never written, only refused
        if self.items is not None:
            atomic_write_json(
                path.with_name(self.items_filename),
                {
                    "schema_version": SCHEMA_VERSION,
                    "task": self.task["name"],
                    "model_fingerprint": self.model["fingerprint"],
                    "languages": self.items,
                },
            )
        atomic_write_json(path, payload)
        return path

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "result") -> "TaskResult":
        from xharness.migrations import migrate

        data = migrate(data)
        validate(data, source=source)
        scores = {lang: _language_score(entry) for lang, entry in data["scores"].items()}
        layer_scores = None
        if isinstance(data.get("layers"), dict):
            layer_scores = {}
            for layer, by_lang in data["layers"].items():  # validated above, with the scores
                layer_scores[int(layer)] = {lang: _language_score(entry) for lang, entry in by_lang.items()}
        return cls(
            task=data["task"],
            model=data["model"],
            config=data["config"],
            scores=scores,
            timing=data["timing"],
            versions=data["versions"],
            run=data.get("run", {}) if isinstance(data.get("run"), dict) else {},
            layer_scores=layer_scores,
            schema_version=data["schema_version"],
        )

    @classmethod
    def from_disk(cls, path: Path) -> "TaskResult":
        path = Path(path)
        if not path.exists() and not path.is_symlink():
            raise XharnessError(f"{path}: result file not found")
        try:
            text = read_bytes(path).decode("utf-8")  # a regular file only: a pipe would block, a device never end
        except UnicodeDecodeError as exc:
            raise XharnessError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise XharnessError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        return cls.from_dict(data, source=str(path))


def _language_score(entry: Mapping[str, Any]) -> LanguageScore:
    metrics = {k: v for k, v in entry.items() if k not in ("main_score", "n")}
    return LanguageScore(main_score=entry["main_score"], metrics=metrics, n=entry["n"])


def load_items(result_path: Path) -> dict[str, dict[str, list]]:
    """The per-item outcomes written beside a result file."""
    result_path = Path(result_path)
    task = result_path.name[: -len(".json")]
    sidecar = result_path.with_name(f"{task}{ITEMS_SUFFIX}")
    if not sidecar.exists() and not sidecar.is_symlink():
        raise XharnessError(f"{sidecar}: per-item file not found")
    try:
        data = json.loads(read_bytes(sidecar).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XharnessError(f"{sidecar}: unreadable per-item file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("languages"), dict):
        raise XharnessError(f"{sidecar}: per-item file has no 'languages' mapping")
    return data["languages"]


class NewerSchemaError(XharnessError):
    """A result file written by a newer xharness: valid, maybe, but not ours to read or replace."""


def _fail(source: str, message: str) -> None:
    raise XharnessError(f"{source}: {message}")


def _require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], source: str, where: str = "") -> Any:
    if key not in data:
        _fail(source, f"missing field '{where}{key}'")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        _fail(source, f"field '{where}{key}' has the wrong type ({type(value).__name__})")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# The one table of what each number in `scores` may hold: (low, high), both inclusive.
# Scores are x100 percentages (and a std of x100 percentages over seeds, at most ~70.7);
# counts are whole-ish and non-negative, below 2**53 (where floats stop counting exactly);
# thresholds are margin scores (ratio, distance or cosine) and may be any finite number.
# A metric not named here must be finite; `main_score` takes its main metric's range, or
# SCORE's when that metric is not named here: every main score is shown as points out of 100.
SCORE = (0.0, 100.0)
COUNT = (0.0, float(2**53))
ANY = (-math.inf, math.inf)
FRACTION = (0.0, 1.0)  # an approximate index's measured recall@k (tasks/recall.py)
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(
        ("accuracy", "accuracy_xx2en", "accuracy_margin", "accuracy_std", "macro_f1", "macro_f1_std",
         "f1", "f1_dev", "f1_oracle", "precision", "recall", "xsim", "xsim_as_target", "xsimpp",
         "map_at_20", "mrr_at_20", "majority_baseline", "chance_baseline", "unpredictable_share"),
        SCORE,
    ),
    **dict.fromkeys(("n", "n_gold", "n_dev_gold", "n_candidates", "n_accepted", "n_errors", "n_errors_pp", "n_hard_negatives", "n_without_mention"), COUNT),
    **dict.fromkeys(("threshold", "threshold_oracle"), ANY),
    **dict.fromkeys(("index_recall", "index_recall_dev"), FRACTION),
}


def _check_range(value: float, name: str, limits: tuple[float, float], source: str, where: str) -> None:
    low, high = limits
    if not low <= value <= high:
        shown = f"[{low:g}, {high:g}]" if math.isfinite(low) else "finite numbers"
        _fail(source, f"{where} is {value!r}, outside the range of {name} ({shown})")


def validate(data: Any, *, source: str = "result") -> None:
    """Raise XharnessError naming the first problem with a result mapping."""
    if not isinstance(data, dict):
        _fail(source, "a result file must hold a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        _fail(source, "missing or invalid 'schema_version'")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{source}: schema_version {version} is newer than this xharness understands ({SCHEMA_VERSION}); upgrade xharness"
        )
    if version < 1:
        _fail(source, f"unknown schema_version {version}")
    task = _require(data, "task", dict, source)
    for key in ("name", "version", "main_metric"):
        _require(task, key, str, source, "task.")
    model = _require(data, "model", dict, source)
    for key in ("name", "slug", "adapter", "fingerprint"):
        _require(model, key, str, source, "model.")
    _require(data, "config", dict, source)
    _require(data, "versions", dict, source)
    timing = _require(data, "timing", dict, source)
    for phase, seconds in timing.items():
        if not _is_number(seconds):
            _fail(source, f"timing '{phase}' is not a number")
    scores = _require(data, "scores", dict, source)
    if not scores:
        _fail(source, "'scores' is empty")
    layers = data.get("layers")
    if isinstance(layers, dict):
        for layer, by_lang in layers.items():
            if not (isinstance(by_lang, dict) and str(layer).isdigit()):
                _fail(source, f"layers['{layer}'] is not a layer's scores")
            validate({**data, "scores": by_lang, "layers": None}, source=f"{source} (layer {layer})")
    for lang, entry in scores.items():
        if not isinstance(entry, dict):
            _fail(source, f"scores['{lang}'] is not an object")
        if not _is_number(entry.get("main_score")):
            _fail(source, f"scores['{lang}'].main_score is missing or not a finite number")
        main = task["main_metric"]
        _check_range(entry["main_score"], main, METRIC_RANGES.get(main, SCORE), source, f"scores['{lang}'].main_score")
        n = entry.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            _fail(source, f"scores['{lang}'].n is missing or not a count")
        _check_range(n, "n", METRIC_RANGES["n"], source, f"scores['{lang}'].n")
        for metric, value in entry.items():
            if metric in ("n", "main_score") or value is None:
                continue
            if not _is_number(value):
                _fail(source, f"scores['{lang}'].{metric} is not a finite number")
            _check_range(value, metric, METRIC_RANGES.get(metric, ANY), source, f"scores['{lang}'].{metric}")
