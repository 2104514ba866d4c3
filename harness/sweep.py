"""A layer sweep run: every task scored at every requested layer from one forward pass; one result per task."""

from __future__ import annotations

from typing import Any

from xharness.adapters.base import Adapter, LayeredAdapter
from xharness.errors import XharnessError
from xharness.result_merge import read_existing, refuse
from xharness.table import plural
from xharness.results import TaskResult


def run_sweep(request, adapter: Adapter, record: dict[str, Any], pending, load_seconds: float, reporter, outcome):
    """Score each pending task at each layer of `request.layer_sweep`; the reported scores are the last layer's."""
    from xharness.layers import LayerSweep, parse_layers, plot_layers

    if not isinstance(adapter, LayeredAdapter):
        raise XharnessError(f"--layer {request.layer_sweep} needs a transformers checkpoint; {adapter.name} ({adapter.kind}) has no layers")
    layers = parse_layers(request.layer_sweep, adapter.num_layers)
    reported_fingerprint = adapter.with_layer(layers[-1]).fingerprint
    jobs = [job for job in pending if not _finished(job, request, reporter, outcome, layers, reported_fingerprint)]
    if not jobs:
        return outcome
    run = request.run
    sweep = LayerSweep(adapter, layers, batch_size=run.batch_size, cache_root=run.cache_dir, use_disk_cache=run.cache, progress=reporter.progress)
    reported = layers[-1]
    for job in jobs:
        task, loaded = job.task, job.loaded
        reporter.message(f"{task.name}: {plural(len(loaded), 'language')} x {plural(len(layers), 'layer')} ({layers[0]}..{layers[-1]}), model {record['name']}")
        by_layer: dict[int, TaskResult] = {}
        for layer in layers:
            from xharness.runner import model_record

            layer_record = {**model_record(sweep.per_layer[layer], spec=request.model, name=record["name"]), "slug": record["slug"]}
            by_layer[layer] = task.run(sweep.embed_for(layer, label=task.name), model=layer_record, loaded=loaded)
            mean = sum(s.main_score for s in by_layer[layer].scores.values()) / len(by_layer[layer].scores)
            reporter.message(f"  layer {layer:>2}: mean {task.main_metric} {mean:.2f}")
        result = by_layer[reported]
        result.model["layer_sweep"] = layers
        result.layer_scores = {layer: r.scores for layer, r in by_layer.items()}
        timing: dict[str, float] = {"load_model": round(load_seconds, 4), "load_data": round(job.data_seconds, 4)}
        for r in by_layer.values():
            for phase, seconds in r.timing.items():
                timing[phase] = round(timing.get(phase, 0.0) + seconds, 4)
        result.timing = timing
        result.run = {"batch_size": run.batch_size, **sweep.stats.as_dict(), "cache": "on" if run.cache else "off", "reported_layer": reported}
        plot_layers(
            {layer: {lang: s.main_score for lang, s in r.scores.items()} for layer, r in by_layer.items()},
            title=f"{task.name} | {record['name']}: {task.main_metric} by layer",
            path=job.target.with_name(f"{task.name}.layers.svg"),
        )
        outcome.paths.append(result.to_disk(run.out_dir))
        outcome.results.append(result)
    return outcome


def _finished(job, request, reporter, outcome, layers: list[int], fingerprint: str) -> bool:
    """Whether an existing sweep result already holds this one (skip it); any other existing result is refused."""
    if request.run.overwrite:
        return False
    existing = read_existing(job.target)
    if existing is None:
        return False
    same = (
        existing.layer_scores is not None
        and existing.model.get("fingerprint") == fingerprint
        and existing.model.get("layer_sweep") == layers
        and existing.config == job.task.config()
        and all(lang in existing.scores for lang in job.loaded)
        and all((existing.task.get("data_files") or {}).get(lang, {}).get("sha256") == data.fingerprint for lang, data in job.loaded.items())
    )
    if not same:
        raise refuse(job.target, "a layer sweep is never merged into an existing result of other layers, languages or options")
    reporter.message(f"{job.task.name}: {job.target} is finished, skipped (use --overwrite to run again)")
    outcome.skipped.append(job.target)
    return True
