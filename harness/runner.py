"""Running tasks against a model: check data first, load the model only if there is work, write results.

The order matters for users: every data file is read and checked before the (slow) model
load, a finished result is skipped unless --overwrite, and each finished language is kept as
it completes, so an interruption loses only the language in progress. A result file is the
union of the runs that agree with it (see `result_merge`); a run that disagrees is refused.

Under a launcher (torchrun, accelerate launch) every rank runs this same path, so collective
calls line up; encoding is split in the Embedder, rank 0 decides from the files what to reuse
and tells the others, and only rank 0 writes (results, partials, cache, kept descriptions) and
reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from xharness.adapters.base import Adapter
from xharness.adapters.options import AdapterOptions
from xharness.cache import EmbeddingCache
from xharness.distributed import world
from xharness.embedding import Embedder
from xharness.errors import XharnessError
from xharness.fileio import check_writable
from xharness.partials import PartialStore, partial_key
from xharness.result_merge import disagreement, kept_data, locked, read_existing, refuse, reusable
from xharness.table import plural
from xharness.results import LanguageScore, TaskResult, model_slug
from xharness.tasks import TASKS
from xharness.tasks.base import LanguageData, LanguageOutcome, ModelSource, Task


@dataclass(frozen=True)
class RunOptions:
    """How a run goes, never what it measures: nothing here changes a number or a resume key."""

    out_dir: Path = Path("results")
    batch_size: int = 32
    overwrite: bool = False
    cache: bool = True
    cache_dir: Path | None = None  # default: $XHARNESS_CACHE/embeddings
    # `hf:` data read streamed (True), map-style (False), or by default (None: a hub-layout folder streams).
    stream: bool | None = None


@dataclass(frozen=True)
class EvalRequest:
    """What `xharness eval` was asked to do: one model, its tasks, and one options object per seam."""

    model: str
    tasks: tuple[str, ...] = ("tatoeba",)
    languages: tuple[str, ...] = ()
    data_dir: Path | str | None = None  # a folder, or an `hf:` data set reference
    adapter: str = "auto"
    name: str | None = None
    adapter_options: AdapterOptions = AdapterOptions()
    layer_sweep: str | None = None  # 'all' or 'A:B': one forward pass, scores per layer
    limit: int | None = None
    task_options: Mapping[str, Any] = field(default_factory=dict)  # by declared name (TaskOption)
    run: RunOptions = RunOptions()


def check_task_options(request: EvalRequest) -> None:
    """An option that no requested task declares is a mistake to report, not to ignore."""
    declared = {option.name for name in request.tasks for option in TASKS.get(name).options}
    for key in request.task_options:
        if key not in declared:
            flag = "--" + key.replace("_", "-")
            raise XharnessError(f"{flag} does not apply to task(s) {', '.join(request.tasks)}")


def build_task(task_cls: type[Task], request: EvalRequest) -> Task:
    """The task with the options it declares; the others stay for the tasks that declare them."""
    names = {option.name for option in task_cls.options}
    options = {key: value for key, value in request.task_options.items() if key in names}
    task = task_cls(request.data_dir, limit=request.limit, **options)
    if task.hub is not None:  # before any row is read: the hub readers open splits lazily
        task.hub.set_stream(request.run.stream)
    return task


@dataclass
class Reporter:
    """Callbacks the CLI plugs in to show progress; silent by default."""

    message: Callable[[str], None] = lambda text: None
    progress: Callable[[str, int], Any] | None = None  # (label, total) -> context manager with .advance(n)
    search: Callable[[str, int], Any] | None = None  # (label, queries) -> handle with .advance(n), .close()
    language_done: Callable[[str, str, LanguageScore, float], None] = lambda task, lang, score, secs: None


@dataclass
class EvalOutcome:
    results: list[TaskResult] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def invocation_name(request: EvalRequest) -> str | None:
    """The model's name as this invocation gives it (--name, the folder's name), never a cached one."""
    if request.name:
        return request.name
    path = Path(request.model)
    return path.resolve().name if path.is_dir() else None


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
    """The result folder name, known before the model loads."""
    if request.name:
        return model_slug(request.name)
    spec = request.model.rstrip("/\\")
    return model_slug(Path(spec).name or spec)


def _adapter_for(request: EvalRequest, *, trains: bool = False) -> Adapter:
    """The model: loaded now, or lazily (only on a cache miss) when its description was kept before.

    `trains`: a task fine-tunes its own copy of the model (`--finetune`); the embedding model is
    then described from its files (same fingerprint and options) and loaded only if a text is embedded.
    """
    from xharness.adapters import load_adapter
    from xharness.lazy import LazyAdapter, description_key, invocation_name as spec_name, recall, remember

    options = request.adapter_options
    rank_options = options  # each rank on its own device under a launcher
    if world().distributed:
        from dataclasses import replace

        from xharness.distributed import device_for

        rank_options = replace(options, device=device_for(options.device))

    def load() -> Adapter:
        return load_adapter(request.model, adapter=request.adapter, options=rank_options)

    if trains and not request.layer_sweep:
        from xharness.adapters.resolve import describe_adapter

        described = describe_adapter(request.model, adapter=request.adapter, options=rank_options)
        if described is not None:
            return LazyAdapter(described, load, name=spec_name(request.model))

    # Keyed by the options as given, not each rank's device: every rank finds what rank 0 kept.
    key = description_key(request.model, adapter=request.adapter, options=options) if request.run.cache else None
    if key is None or request.layer_sweep:
        return load()
    kept = recall(key)
    if kept is not None:
        return LazyAdapter(kept, load, name=spec_name(request.model), key=key)
    adapter = load()
    if world().is_main:
        remember(key, adapter)
    return adapter


@dataclass
class _Pending:
    """One task whose data is loaded and checked, waiting for the model."""

    task: Task
    loaded: dict[str, LanguageData]
    data_seconds: float
    target: Path


def _refuse_embedding_options_for_finetuning(request: EvalRequest, pending: list[_Pending]) -> None:
    """--layer, --pooling, --max-length and --max-tokens shape embeddings; a run that only fine-tunes has none.

    Accepted, they would be recorded in the result's model record (and its resume keys) as if they had shaped it.
    """
    if not pending or not all(job.task.needs_model_source for job in pending):
        return
    given = {name: value for name, value in request.adapter_options.given().items()
             if name in ("pooling", "layer", "max_length", "max_tokens")}
    if request.layer_sweep:
        given["layer"] = request.layer_sweep
    if given:
        name, value = next(iter(given.items()))
        raise XharnessError(
            f"--{name.replace('_', '-')} {value} shapes embeddings, and --finetune trains the whole encoder with a head on its "
            "own pooled output; leave it out (the fine-tuning length is --ft-max-length)"
        )


def run_eval(request: EvalRequest, *, reporter: Reporter | None = None, adapter: Adapter | None = None) -> EvalOutcome:
    """Run every requested task on one model and write one result file per task.

    A re-run reuses what agrees with it: finished languages of the result file and of an
    interrupted run (same model fingerprint, data and number-changing options).
    """
    here = world()
    reporter = reporter if reporter is not None and here.is_main else Reporter()  # one rank reports
    if here.distributed and request.layer_sweep:
        raise XharnessError(f"--layer {request.layer_sweep} runs in one process; a layer sweep is not split across ranks")
    outcome = EvalOutcome()
    slug = _slug_for(request)
    check_task_options(request)
    pending: list[_Pending] = []
    for task_name in dict.fromkeys(TASKS.canonical(t) for t in request.tasks):
        task = build_task(TASKS.get(task_name), request)
        started = time.perf_counter()
        loaded = task.load(request.languages)
        target = Path(request.run.out_dir) / slug / f"{task.name}.json"
        pending.append(_Pending(task, loaded, time.perf_counter() - started, target))

    _refuse_embedding_options_for_finetuning(request, pending)

    from xharness.distributed import decided_by_main

    decided_by_main(lambda: check_writable(Path(request.run.out_dir) / slug, folder=True))  # before the model loads
    load_started = time.perf_counter()
    if adapter is None:
        adapter = _adapter_for(request, trains=any(job.task.needs_model_source for job in pending))
    load_seconds = time.perf_counter() - load_started
    record = {**model_record(adapter, spec=request.model, name=invocation_name(request)), "slug": slug}
    if request.layer_sweep:
        from xharness.sweep import run_sweep

        return run_sweep(request, adapter, record, pending, load_seconds, reporter, outcome)
    cache = (
        EmbeddingCache(adapter.fingerprint, root=request.run.cache_dir, model={"name": record["name"], "kind": adapter.kind})
        if request.run.cache else None
    )
    for job in pending:
        result = _run_task(job, request, adapter, record, cache, load_seconds, reporter, outcome)
        if result is not None:
            outcome.results.append(result)
    return outcome


def _kept_from_result(job: _Pending, request: EvalRequest, adapter: Adapter) -> dict[str, LanguageOutcome]:
    """Languages of the existing result this run may keep; raises when the run disagrees with it."""
    if request.run.overwrite:
        return {}
    existing = read_existing(job.target)
    if existing is None:
        return {}
    reason = disagreement(existing, model_fingerprint=adapter.fingerprint, task=_task_identity(job.task), config=job.task.config())
    if reason is not None:
        raise refuse(job.target, reason)
    kept = reusable(existing, job.loaded, target=job.target)
    for lang in kept:
        job.loaded.setdefault(lang, kept_data(existing, lang))
    return kept


def _reuse(job: _Pending, request: EvalRequest, adapter: Adapter, store: PartialStore, keys: dict[str, str]):
    """(languages kept from the result file, languages resumed from partials), as rank 0 reads them.

    Under a launcher the other ranks take rank 0's decision (and a refusal) instead of reading
    files they may not see alike, so every rank scores the same languages.
    """
    from xharness.distributed import decided_by_main

    def decide():
        kept = _kept_from_result(job, request, adapter)
        resumed = {} if request.run.overwrite else {lang: o for lang in keys if lang not in kept and (o := store.load(lang, key=keys[lang]))}
        return kept, {lang: job.loaded[lang] for lang in kept}, resumed

    kept, kept_loaded, resumed = decided_by_main(decide)
    for lang, data in kept_loaded.items():
        job.loaded.setdefault(lang, data)
    return kept, resumed


def _model_source(request: EvalRequest, adapter: Adapter, store: PartialStore) -> ModelSource:
    path = Path(request.model)
    options = request.adapter_options
    return ModelSource(
        kind=adapter.kind, folder=path if path.is_dir() else None, fingerprint=adapter.fingerprint,
        dtype=options.dtype, device=options.device, work_dir=store.folder,
    )


def _task_identity(task: Task) -> dict[str, Any]:
    return {"version": task.version, "split": task.split}


def _run_task(job, request, adapter, record, cache, load_seconds, reporter, outcome) -> TaskResult | None:
    task = job.task
    requested = list(job.loaded)
    config = task.config()
    keys = {
        lang: partial_key(model_fingerprint=adapter.fingerprint, config=config, data_fingerprint=job.loaded[lang].fingerprint)
        for lang in requested
    }
    store = PartialStore(request.run.out_dir, record["slug"], task.name)
    kept, resumed = _reuse(job, request, adapter, store, keys)
    if kept and all(lang in kept for lang in requested):
        reporter.message(f"{task.name}: {job.target} is finished, skipped (use --overwrite to run again)")
        outcome.skipped.append(job.target)
        return None
    if task.needs_model_source:
        task.use_model_source(_model_source(request, adapter, store))
    if resumed:
        reporter.message(f"{task.name}: reusing {plural(len(resumed), 'finished language')} from an interrupted run: {' '.join(resumed)}")
    reporter.message(f"{task.name}: {plural(len(requested) - len(kept), 'language')}, model {record['name']}")
    embedder = Embedder(
        adapter, batch_size=request.run.batch_size, cache=cache, progress=reporter.progress, search=reporter.search,
        label=task.name, name=adapter.name,
    )

    main = world().is_main

    def done(lang: str, result_outcome: LanguageOutcome, seconds: float) -> None:
        if main:
            store.save(lang, result_outcome, key=keys[lang])
        reporter.language_done(task.name, lang, result_outcome.score, seconds)

    # Languages kept from the result file come first, in their order; then this run's, in its order.
    loaded = {lang: job.loaded[lang] for lang in [*kept, *(lang for lang in requested if lang not in kept)]}
    cut_before = getattr(adapter, "truncated", None) or 0  # texts cut at max length so far
    lazy_before = getattr(adapter, "load_seconds", 0.0)
    result = task.run(embedder, model=record, loaded=loaded, finished={**kept, **resumed}, on_language=done)
    truncated = None if getattr(adapter, "truncated", None) is None else adapter.truncated - cut_before
    if world().distributed:
        from xharness.distributed import total

        truncated = total(truncated)  # each rank cut only its share
    result.timing = _honest_timing(result.timing, load_seconds, getattr(adapter, "load_seconds", 0.0) - lazy_before, job.data_seconds)
    result.run = {
        "batch_size": request.run.batch_size,
        **embedder.stats.as_dict(),
        "model_loaded": getattr(adapter, "loaded", True),
        "cache": "off" if cache is None else str(cache.folder),
        "reused_languages": sorted(resumed),
        "kept_languages": sorted(kept),
        "truncated": truncated,
        **({"world_size": world().size} if world().distributed else {}),
    }
    if not main:  # the same result, computed in step with rank 0; rank 0 alone writes it
        return result
    with locked(job.target.parent):
        result = _merge_concurrent(result, job, request, adapter)
        outcome.paths.append(result.to_disk(request.run.out_dir))
    store.discard(keys)
    return result


def _honest_timing(timing: dict[str, float], load_seconds: float, lazy_seconds: float, data_seconds: float) -> dict[str, float]:
    """`load_model` includes a load that happened lazily inside the first encode (LazyAdapter), and
    `encode` leaves it out, so each phase says what it took."""
    timing = dict(timing)
    if lazy_seconds > 0 and "encode" in timing:
        timing["encode"] = round(max(timing["encode"] - lazy_seconds, 0.0), 4)
    return {"load_model": round(load_seconds + lazy_seconds, 4), "load_data": round(data_seconds, 4), **timing}


def _merge_concurrent(result: TaskResult, job: _Pending, request: EvalRequest, adapter: Adapter) -> TaskResult:
    """Add languages another run wrote into the result since this run started (under the folder lock)."""
    if request.run.overwrite:
        return result
    existing = read_existing(job.target)
    if existing is None:
        return result
    reason = disagreement(existing, model_fingerprint=adapter.fingerprint, task=_task_identity(job.task), config=job.task.config())
    if reason is not None:
        raise refuse(job.target, reason + " (written while this run was going; its languages are kept for a re-run)")
    extra = [lang for lang in existing.scores if lang not in result.scores]
    if not extra:
        return result
    files = existing.task.get("data_files") or {}
    result.scores = {**{lang: existing.scores[lang] for lang in extra}, **result.scores}
    result.items = {**{lang: (existing.items or {}).get(lang, {}) for lang in extra}, **(result.items or {})}
    result.task["data_files"] = {**{lang: files[lang] for lang in extra if lang in files}, **result.task["data_files"]}
    result.task["languages"] = list(result.scores)
    from xharness.adapters.base import digest

    result.task["data_fingerprint"] = digest({lang: entry["sha256"] for lang, entry in result.task["data_files"].items()})
    return result
