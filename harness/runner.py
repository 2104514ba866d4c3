"""Running tasks against a model: check data first, load the model only if there is work, write results.

The order matters for users: every data file is read and checked before the (slow) model
load, a finished result is skipped unless --overwrite, and each task's result is written
as soon as it is done, so an interruption loses only the task in progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from xharness.adapters.base import Adapter, LayeredAdapter
from xharness.adapters.options import AdapterOptions
from xharness.cache import EmbeddingCache
from xharness.embedding import Embedder
from xharness.partials import PartialStore
from xharness.errors import XharnessError
from xharness.results import LanguageScore, NewerSchemaError, TaskResult, model_slug
from xharness.tasks import TASKS
from xharness.tasks.base import LanguageData, LanguageOutcome, Task


@dataclass(frozen=True)
class EvalRequest:
    """What `xharness eval` was asked to do, with every option that can change a number."""

    model: str
    tasks: tuple[str, ...] = ("tatoeba",)
    languages: tuple[str, ...] = ()
    data_dir: Path | None = None
    out_dir: Path = Path("results")
    adapter: str = "auto"
    name: str | None = None
    batch_size: int = 32
    device: str | None = None
    pooling: str | None = None
    layer: int | None = None
    layer_sweep: str | None = None  # 'all' or 'A:B': one forward pass, scores per layer
    max_length: int | None = None
    dtype: str | None = None
    max_tokens: int | None = None
    limit: int | None = None
    overwrite: bool = False
    trust_remote_code: bool = False
    task_options: Mapping[str, Any] = field(default_factory=dict)  # k, margin, retrieval, index
    cache: bool = True
    cache_dir: Path | None = None  # default: $XHARNESS_CACHE/embeddings

    def adapter_options(self) -> AdapterOptions:
        return AdapterOptions(
            pooling=self.pooling, layer=self.layer, max_length=self.max_length, dtype=self.dtype,
            device=self.device, max_tokens=self.max_tokens, trust_remote_code=self.trust_remote_code,
        )


def build_task(task_cls: type[Task], request: EvalRequest) -> Task:
    """Construct a task with the options it takes; the others stay for the tasks that take them."""
    import inspect

    accepted = inspect.signature(task_cls.__init__).parameters
    options = {key: value for key, value in request.task_options.items() if key in accepted}
    return task_cls(request.data_dir, limit=request.limit, **options)


def check_task_options(request: EvalRequest) -> None:
    """An option that no requested task takes is a mistake to report, not to ignore."""
    import inspect

    accepted: set[str] = set()
    for name in request.tasks:
        accepted |= set(inspect.signature(TASKS.get(name).__init__).parameters)
    for key in request.task_options:
        if key not in accepted:
            flag = "--" + key.replace("_", "-")
            raise XharnessError(f"{flag} does not apply to task(s) {', '.join(request.tasks)}")


@dataclass
class Reporter:
    """Callbacks the CLI plugs in to show progress; silent by default."""

    message: Callable[[str], None] = lambda text: None
    progress: Callable[[str, int], Any] | None = None  # (label, total) -> context manager with .advance(n)
    language_done: Callable[[str, str, LanguageScore, float], None] = lambda task, lang, score, secs: None


@dataclass
class EvalOutcome:
    results: list[TaskResult] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def model_record(adapter: Adapter, *, spec: str, name: str | None) -> dict[str, Any]:
    display = name or adapter.name
    return {
        "name": display,
        "slug": model_slug(display),
        "spec": spec,
        "adapter": adapter.kind,
        "fingerprint": adapter.fingerprint,
        "options": dict(adapter.options),
    }


def _slug_for(request: EvalRequest) -> str:
    """The result folder name, known before the model loads (so finished work is skipped cheaply)."""
    if request.name:
        return model_slug(request.name)
    spec = request.model.rstrip("/\\")
    return model_slug(Path(spec).name or spec)


def _finished_outcomes(store: PartialStore, loaded, *, model_fingerprint: str, config) -> dict[str, LanguageOutcome]:
    kept = {}
    for lang, data in loaded.items():
        outcome = store.load(lang, model_fingerprint=model_fingerprint, config=config, data_fingerprint=data.fingerprint)
        if outcome is not None:
            kept[lang] = outcome
    return kept


def _existing_covers(target: Path, task: Task, languages: Sequence[str]) -> bool:
    """Whether a finished result already holds every language asked for (so the task can be skipped)."""
    if not target.exists():
        return False
    try:
        existing = TaskResult.from_disk(target)
    except NewerSchemaError as exc:
        # A newer xharness wrote it: replacing it with an older format would lose what it records.
        raise XharnessError(f"{exc}, or pass --overwrite to replace it") from None
    except XharnessError:
        return False  # damaged (truncated, edited): run again and replace it
    wanted = task.resolve_languages(languages)
    return all(lang in existing.scores for lang in wanted)


def _adapter_for(request: EvalRequest) -> Adapter:
    """The model: loaded now, or lazily (only on a cache miss) when its description was kept before."""
    from xharness.adapters import load_adapter
    from xharness.lazy import LazyAdapter, description_key, invocation_name, recall, remember

    options = request.adapter_options()

    def load() -> Adapter:
        return load_adapter(request.model, adapter=request.adapter, options=options)

    key = description_key(request.model, adapter=request.adapter, options=options) if request.cache else None
    if key is None or request.layer_sweep:
        return load()
    kept = recall(key)
    if kept is not None:
        return LazyAdapter(kept, load, name=invocation_name(request.model), key=key)
    adapter = load()
    remember(key, adapter)
    return adapter


def run_eval(request: EvalRequest, *, reporter: Reporter | None = None, adapter: Adapter | None = None) -> EvalOutcome:
    """Run every requested task on one model and write one result file per task.

    Each finished language is kept as it completes; a re-run of the same command reuses the
    kept languages (same model fingerprint, data and options) and skips finished tasks.
    """
    reporter = reporter or Reporter()
    outcome = EvalOutcome()
    slug = _slug_for(request)
    pending: list[tuple[Task, dict[str, LanguageData], float]] = []
    check_task_options(request)
    for task_name in dict.fromkeys(TASKS.canonical(t) for t in request.tasks):
        task = build_task(TASKS.get(task_name), request)
        target = Path(request.out_dir) / slug / f"{task.name}.json"
        if not request.overwrite and _existing_covers(target, task, request.languages):
            reporter.message(f"{task.name}: {target} is finished, skipped (use --overwrite to run again)")
            outcome.skipped.append(target)
            continue
        started = time.perf_counter()
        loaded = task.load(request.languages)
        pending.append((task, loaded, time.perf_counter() - started))
    if not pending:
        return outcome

    load_started = time.perf_counter()
    if adapter is None:
        adapter = _adapter_for(request)
    load_seconds = time.perf_counter() - load_started
    record = model_record(adapter, spec=request.model, name=request.name)
    record["slug"] = slug
    if request.layer_sweep:
        return _run_sweep(request, adapter, record, pending, load_seconds, reporter, outcome)
    cache = EmbeddingCache(adapter.fingerprint, root=request.cache_dir) if request.cache else None

    for task, loaded, data_seconds in pending:
        store = PartialStore(request.out_dir, slug, task.name)
        run_config = {"batch_size": request.batch_size}
        config = {**task.config(), **run_config}
        if request.overwrite:
            store.clear()
        finished = _finished_outcomes(store, loaded, model_fingerprint=adapter.fingerprint, config=config)
        if finished:
            reporter.message(f"{task.name}: reusing {len(finished)} finished language(s) from an interrupted run: {' '.join(finished)}")
        reporter.message(f"{task.name}: {len(loaded)} languages, model {record['name']}")
        embedder = Embedder(adapter, batch_size=request.batch_size, cache=cache, progress=reporter.progress, label=task.name, name=adapter.name)

        def done(lang: str, result_outcome: LanguageOutcome, seconds: float, _task=task, _store=store, _loaded=loaded, _config=config) -> None:
            _store.save(lang, result_outcome, model_fingerprint=adapter.fingerprint, config=_config, data_fingerprint=_loaded[lang].fingerprint)
            reporter.language_done(_task.name, lang, result_outcome.score, seconds)

        cut_before = getattr(adapter, "truncated", None) or 0  # texts cut at max length so far
        result = task.run(embedder, model=record, loaded=loaded, run_config=run_config, finished=finished, on_language=done)
        result.timing = {"load_model": round(load_seconds, 4), "load_data": round(data_seconds, 4), **result.timing}
        result.run = {
            **embedder.stats.as_dict(),
            "model_loaded": getattr(adapter, "loaded", True),
            "cache": "off" if cache is None else str(cache.folder),
            "reused_languages": sorted(finished),
            "truncated": None if getattr(adapter, "truncated", None) is None else adapter.truncated - cut_before,
        }
        outcome.paths.append(result.to_disk(request.out_dir))
        store.clear()
        outcome.results.append(result)
    return outcome


def _run_sweep(request, adapter, record, pending, load_seconds, reporter, outcome) -> EvalOutcome:
    """Score every task at every requested layer from one forward pass per text; one result per task."""
    from xharness.layers import LayerSweep, parse_layers, plot_layers

    if not isinstance(adapter, LayeredAdapter):
        raise XharnessError(f"--layer {request.layer_sweep} needs a transformers checkpoint; {adapter.name} ({adapter.kind}) has no layers")
    layers = parse_layers(request.layer_sweep, adapter.num_layers)
    sweep = LayerSweep(
        adapter, layers, batch_size=request.batch_size, cache_root=request.cache_dir,
        use_disk_cache=request.cache, progress=reporter.progress,
    )
    reported = layers[-1]
    for task, loaded, data_seconds in pending:
        reporter.message(f"{task.name}: {len(loaded)} languages x {len(layers)} layers ({layers[0]}..{layers[-1]}), model {record['name']}")
        by_layer: dict[int, TaskResult] = {}
        for layer in layers:
            layer_record = {**model_record(sweep.per_layer[layer], spec=request.model, name=request.name), "slug": record["slug"]}
            by_layer[layer] = task.run(
                sweep.embed_for(layer, label=task.name), model=layer_record, loaded=loaded,
                run_config={"batch_size": request.batch_size},
            )
            mean = sum(s.main_score for s in by_layer[layer].scores.values()) / len(by_layer[layer].scores)
            reporter.message(f"  layer {layer:>2}: mean {task.main_metric} {mean:.2f}")
        result = by_layer[reported]
        result.model["layer_sweep"] = layers
        result.layer_scores = {layer: r.scores for layer, r in by_layer.items()}
        timing: dict[str, float] = {"load_model": round(load_seconds, 4), "load_data": round(data_seconds, 4)}
        for r in by_layer.values():
            for phase, seconds in r.timing.items():
                timing[phase] = round(timing.get(phase, 0.0) + seconds, 4)
        result.timing = timing
        result.run = {**sweep.stats.as_dict(), "cache": "on" if request.cache else "off", "reported_layer": reported}
        path = result.to_disk(request.out_dir)
        plot_layers(
            {layer: {lang: s.main_score for lang, s in r.scores.items()} for layer, r in by_layer.items()},
            title=f"{task.name} | {record['name']}: {task.main_metric} by layer",
            path=path.with_name(f"{task.name}.layers.svg"),
        )
        outcome.paths.append(path)
        outcome.results.append(result)
    return outcome
