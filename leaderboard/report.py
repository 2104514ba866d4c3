"""The transfer report: every checkpoint of a results folder against one baseline, per task and language.

For each other model, each task the baseline has, and each language both runs have: the
difference of `main_score` (checkpoint - baseline) with its paired bootstrap interval, made
by `compare.compare_results` (the same comparability checks, resampled units, seeds and
replicates as `xharness compare`, so a cell here equals the row `compare` prints). Per task,
the unweighted mean difference over the languages both runs have, its interval from the
languages' replicates averaged index by index (languages are independent samples). With two
tasks or more, an overall mean over the task means (XTREME's unweighted convention), only for
checkpoints that have every task of the report, and only when every task agrees on whether
higher is better (each task's class declares `higher_is_better`; where it is False, a negative
delta is a gain and the heatmaps colour it so).

Each difference gets a two-sided bootstrap p-value (`adjust.bootstrap_p_value`: twice the
smaller share of replicates on either side of zero, with the +1 correction). The per-language
tests of one checkpoint on one task form a family, adjusted by Holm-Bonferroni, Benjamini-
Hochberg or not at all (`--adjust`); a cell is *significant* when its adjusted p <= alpha =
1 - confidence. Task means and the overall mean are one test each and are not adjusted.
Intervals are always the unadjusted (per-cell) percentile intervals.

Refused, with one line naming the checkpoint: different task versions, splits, metrics or
protocols (a dev-tuned BUCC threshold against an oracle one, another Tatoeba margin, other
probe settings), different data fingerprints for a language both runs have. A checkpoint's run
on data the leaderboard tells apart from the baseline's (a demo build against LASER's Tatoeba,
another --limit of a known data set: `data_identity.identify`) is left out of that task and
listed, as the leaderboard puts the two in separate tables. Languages that only one run has are
left out of the means and listed. One model name in two folders is two models, `name [folder]`
(`report_models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from xharness.errors import XharnessError
from xharness.suggest import did_you_mean
from xharness.leaderboard.adjust import METHODS, adjust_p_values, bootstrap_p_value
from xharness.leaderboard.bootstrap import percentile_interval
from xharness.leaderboard.collect import ResultEntry, collect
from xharness.leaderboard.compare import ComparisonRow, TaskComparison, compare_results, mean_replicates
from xharness.leaderboard.data_identity import identify
from xharness.leaderboard.names import EMPTY, NamesFile
from xharness.leaderboard.report_models import Model, find_baseline, report_models
from xharness.leaderboard.units import declaration, describe

TITLE = "xharness transfer report"
MEAN = "mean"
OVERALL = "overall"


@dataclass(frozen=True)
class DeltaCell:
    """One tested difference: a language, a task's mean (`key='mean'`) or the overall mean (`key='overall'`)."""

    key: str
    n: int | None
    baseline: float | None
    score: float | None
    delta: float | None
    low: float | None = None
    high: float | None = None
    p: float | None = None
    p_adjusted: float | None = None
    significant: bool = False
    note: str | None = None

    @property
    def excludes_zero(self) -> bool:
        """The (unadjusted) interval excludes zero."""
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict:
        return {
            "n": self.n, "baseline": self.baseline, "score": self.score, "delta": self.delta, "low": self.low,
            "high": self.high, "interval_excludes_zero": self.excludes_zero, "p": self.p,
            "p_adjusted": self.p_adjusted, "significant": self.significant, "note": self.note,
        }


@dataclass(frozen=True)
class TaskDeltas:
    """One checkpoint on one task: per-language cells (sorted), their mean, and who lacks what."""

    task: str
    cells: tuple[DeltaCell, ...]
    mean: DeltaCell
    only_baseline: tuple[str, ...] = ()
    only_checkpoint: tuple[str, ...] = ()

    def cell(self, language: str) -> DeltaCell | None:
        return next((c for c in self.cells if c.key == language), None)


@dataclass(frozen=True)
class Checkpoint:
    model: Model
    tasks: tuple[TaskDeltas, ...]
    overall: DeltaCell | None = None
    missing_tasks: tuple[str, ...] = ()  # tasks of the report it has no comparable run of
    extra_tasks: tuple[str, ...] = ()  # tasks the baseline has not run
    other_data: tuple[str, ...] = ()  # why a task is missing: run on data the leaderboard tells apart from the baseline's

    def task(self, name: str) -> TaskDeltas | None:
        return next((t for t in self.tasks if t.task == name), None)


@dataclass(frozen=True)
class TaskInfo:
    name: str
    main_metric: str
    unit: str
    languages: tuple[str, ...]  # every language some checkpoint shares with the baseline, sorted
    higher_is_better: bool = True  # the task's declaration: a negative delta is a gain when False


@dataclass(frozen=True)
class Report:
    title: str
    baseline: Model
    checkpoints: tuple[Checkpoint, ...]
    tasks: tuple[TaskInfo, ...]
    adjust: str
    n_resamples: int
    seed: int
    confidence: float
    names_source: str | None = None
    sources: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    task_filter: tuple[str, ...] = ()
    language_filter: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def alpha(self) -> float:
        return round(1.0 - self.confidence, 10)

    @property
    def has_intermediate(self) -> bool:
        return any(m.intermediate for m in (self.baseline, *(c.model for c in self.checkpoints)))


# -- cells ------------------------------------------------------------------------------------


def _interval_and_p(replicates: np.ndarray | None, confidence: float) -> tuple[float | None, float | None, float | None]:
    if replicates is None:
        return None, None, None
    low, high = percentile_interval(replicates, confidence=confidence)
    return low, high, bootstrap_p_value(replicates)


def _language_cells(rows: Sequence[ComparisonRow], replicates: dict[str, np.ndarray], *, adjust: str, alpha: float) -> tuple[DeltaCell, ...]:
    p_values = {lang: bootstrap_p_value(reps) for lang, reps in replicates.items()}
    tested = [r.language for r in rows if r.language in p_values]
    adjusted = dict(zip(tested, adjust_p_values([p_values[lang] for lang in tested], adjust).tolist())) if tested else {}
    cells = []
    for r in rows:
        p_adj = adjusted.get(r.language)
        cells.append(DeltaCell(
            key=r.language, n=r.n, baseline=r.score_a, score=r.score_b, delta=r.delta, low=r.low, high=r.high,
            p=p_values.get(r.language), p_adjusted=p_adj, significant=p_adj is not None and p_adj <= alpha, note=r.note,
        ))
    return tuple(cells)


def _mean_cell(
    key: str, parts: Sequence[DeltaCell], replicates: Sequence[np.ndarray | None], *, confidence: float, alpha: float
) -> tuple[DeltaCell, np.ndarray | None]:
    """The unweighted mean of `parts` and its replicates (the parts' averaged index by index, when all have some)."""
    base = sum(c.baseline for c in parts) / len(parts)
    score = sum(c.score for c in parts) / len(parts)
    reps, note = None, None
    if all(r is not None for r in replicates):
        reps = replicates[0] if len(replicates) == 1 else mean_replicates(list(replicates))
    else:
        note = "no interval: some languages have none" if key == MEAN else "no interval: some tasks have none"
    low, high, p = _interval_and_p(reps, confidence)
    cell = DeltaCell(key=key, n=None, baseline=base, score=score, delta=score - base, low=low, high=high, p=p, p_adjusted=p,
                significant=p is not None and p <= alpha, note=note)
    return cell, reps


@dataclass(frozen=True)
class _Settings:
    adjust: str
    n_resamples: int
    seed: int
    confidence: float
    alpha: float
    languages: tuple[str, ...]


def _compare_checkpoint(
    model: Model, baseline: Model, own: dict[str, ResultEntry], base_tasks: dict[str, ResultEntry], task_names: Sequence[str], settings: _Settings
) -> tuple[Checkpoint, list[TaskComparison]]:
    """One checkpoint against the baseline on every task of the report (refused, one line, when not comparable)."""
    compared, comparisons, parts, part_replicates, missing, other_data = [], [], [], [], [], []
    wanted = set(settings.languages)
    for task in task_names:
        if task not in own:
            missing.append(task)
            continue
        base_entry, entry = base_tasks[task], own[task]
        other = _other_data(base_entry, entry)
        if other is not None:  # the leaderboard puts them in two tables; a paired comparison has no items in common
            missing.append(task)
            other_data.append(f"{task}: {other}")
            continue
        try:
            comparison, replicates = compare_results(
                base_entry.result, entry.result, base_entry.path, entry.path, n_resamples=settings.n_resamples,
                seed=settings.seed, confidence=settings.confidence, languages=settings.languages,
            )
        except XharnessError as exc:
            raise XharnessError(f"{model.label} vs baseline {baseline.label}: {exc}") from None
        if not comparison.rows:
            missing.append(task)
            continue
        cells = _language_cells(comparison.rows, replicates, adjust=settings.adjust, alpha=settings.alpha)
        mean, mean_reps = _mean_cell(MEAN, cells, [replicates.get(c.key) for c in cells], confidence=settings.confidence, alpha=settings.alpha)
        compared.append(TaskDeltas(
            task=task, cells=cells, mean=mean,
            only_baseline=tuple(lang for lang in comparison.only_a if not wanted or lang in wanted),
            only_checkpoint=tuple(lang for lang in comparison.only_b if not wanted or lang in wanted),
        ))
        comparisons.append(comparison)
        parts.append(mean)
        part_replicates.append(mean_reps)
    overall = None
    if len(task_names) > 1 and not missing and len({c.higher_is_better for c in comparisons}) == 1:
        overall, _ = _mean_cell(OVERALL, parts, part_replicates, confidence=settings.confidence, alpha=settings.alpha)
    checkpoint = Checkpoint(model=model, tasks=tuple(compared), overall=overall, missing_tasks=tuple(missing), other_data=tuple(other_data))
    return checkpoint, comparisons


def _other_data(base: ResultEntry, entry: ResultEntry) -> str | None:
    """Why two runs of a task are on different data, when both data sets are known (a demo build, LASER's Tatoeba)."""
    a, b = identify(base.result), identify(entry.result)
    if a is None or b is None or a.key == b.key:
        return None  # unknown data: the per-language fingerprints decide (compare_results refuses a mismatch)
    return f"left out, run on other data ({b.label}; the baseline's: {a.label})"


# -- the report -------------------------------------------------------------------------------


def build_report(
    results_dir: Path,
    *,
    baseline: str,
    names: NamesFile = EMPTY,
    adjust: str = "holm",
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    tasks: Sequence[str] = (),
    languages: Sequence[str] = (),
    skip_invalid: bool = False,
    exclude: Iterable[Path] = (),
    title: str = TITLE,
) -> Report:
    """Read RESULTS_DIR and compare every other model with `baseline` (a model's name, slug or display name)."""
    if adjust not in METHODS:
        raise XharnessError(f"--adjust must be one of {', '.join(METHODS)}, got '{adjust}'")
    if n_resamples < 1:
        raise XharnessError(f"--resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise XharnessError(f"--confidence must be between 0 and 1, got {confidence}")
    alpha = round(1.0 - confidence, 10)
    # One model name in two folders gives two models, `name [folder]` (as in the leaderboard).
    collection = collect(results_dir, skip_invalid=skip_invalid, exclude=exclude, by_folder=True)
    models, by_model, order = report_models(collection.entries, names)
    base_name = find_baseline(baseline, models)
    others = [name for name in models if name != base_name]
    if not others:
        raise XharnessError(f"{results_dir}: only the baseline '{base_name}' is here; nothing to compare it with")
    others.sort(key=lambda n: (order[n] is None, order[n] if order[n] is not None else 0, models[n].label.casefold(), models[n].label))
    base_tasks = by_model[base_name]
    task_names = sorted(base_tasks)
    if tasks:
        unknown = [t for t in tasks if t not in base_tasks]
        if unknown:
            raise XharnessError(f"the baseline has no result for task(s) {', '.join(unknown)} (it has {', '.join(task_names)})")
        task_names = [t for t in task_names if t in set(tasks)]
    if languages:
        known = sorted({lang for t in task_names for lang in base_tasks[t].result.scores})
        unknown = [lang for lang in languages if lang not in known]
        if unknown:
            hint = did_you_mean(unknown[0], known)
            raise XharnessError(f"-l {unknown[0]}: the baseline has no result in this language (it has {', '.join(known)}){hint}")

    settings = _Settings(adjust=adjust, n_resamples=n_resamples, seed=seed, confidence=confidence, alpha=alpha, languages=tuple(languages))
    checkpoints, compared_tasks = [], {t: [] for t in task_names}
    for name in others:
        checkpoint, comparisons = _compare_checkpoint(models[name], models[base_name], by_model[name], base_tasks, task_names, settings)
        extra = tuple(sorted(t for t in by_model[name] if t not in base_tasks and (not tasks or t in tasks)))
        checkpoints.append(replace(checkpoint, extra_tasks=extra))
        for comparison in comparisons:
            compared_tasks[comparison.task].append(comparison)

    declared = {t: declaration(base_tasks[t].result.task["name"]) for t in task_names}
    task_infos = tuple(
        TaskInfo(
            name=t,
            main_metric=base_tasks[t].result.main_metric,
            unit=compared_tasks[t][0].unit if compared_tasks[t] else describe(declared[t].record),
            languages=tuple(sorted({row.language for c in compared_tasks[t] for row in c.rows})),
            higher_is_better=declared[t].higher_is_better,
        )
        for t in task_names
    )
    if not any(c.tasks for c in checkpoints):
        raise XharnessError("no checkpoint shares a task and a language with the baseline" + (f" among {', '.join(languages)}" if languages else ""))
    used = {e.source for name in [base_name, *others] for t, e in by_model[name].items() if t in task_names}
    return Report(
        title=title,
        baseline=models[base_name],
        checkpoints=tuple(checkpoints),
        tasks=task_infos,
        adjust=adjust,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
        names_source=names.source,
        sources=tuple(sorted(used)),
        skipped=tuple((s.source, s.reason) for s in collection.skipped),
        task_filter=tuple(tasks),
        language_filter=tuple(languages),
        notes=tuple(_direction_notes(task_infos) + _resolution_notes(checkpoints, adjust=adjust, n_resamples=n_resamples, alpha=alpha)),
    )


def _direction_notes(tasks: Sequence[TaskInfo]) -> list[str]:
    """Say which tasks count a negative delta as a gain, and why mixed directions get no overall mean."""
    lower = [t.name for t in tasks if not t.higher_is_better]
    if not lower:
        return []
    notes = [f"lower is better on {', '.join(lower)}: there a negative delta is a gain (blue in the heatmaps)"]
    if len(lower) < len(tasks):
        notes.append("no overall mean: the tasks do not agree on whether higher is better")
    return notes


def _resolution_notes(checkpoints: Sequence[Checkpoint], *, adjust: str, n_resamples: int, alpha: float) -> list[str]:
    """Warn when the resamples are too few for any cell to be declared significant after adjustment."""
    p_min = 2.0 / (n_resamples + 1)
    families = [sum(1 for c in t.cells if c.p is not None) for ck in checkpoints for t in ck.tasks]
    m = max(families, default=0)
    if m == 0:
        return []
    floor = p_min * m if adjust == "holm" else p_min
    if floor <= alpha:
        return []
    return [
        f"with {n_resamples} resamples the smallest bootstrap p-value is {p_min:.4g}, so "
        + (f"Holm over {m} languages " if adjust == "holm" else "")
        + f"cannot reach alpha = {alpha:g}: no language cell can be significant"
        + (" in a task with that many languages" if adjust == "holm" else "")
        + "; use more --resamples"
    ]
