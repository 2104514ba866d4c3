"""Building the leaderboard's tables from validated results: pure data in, pure data out.

Conventions (XTREME's where it has one):
- a task's average is the unweighted mean of `main_score` over its languages;
- a model is *complete* on a task when it has a score for every language of that task's table
  (the union over models, after filters); only complete models are ranked, by average,
  best first (highest, or lowest for a task whose class declares `higher_is_better = False`,
  such as xSIM error rates); an incomplete model is shown after them with the average over the
  languages it has, unranked;
- ranks are competition ranks ("1, 2, 2, 4") on averages rounded to the two decimals shown,
  so two models that look tied share a rank; ties are listed by model name;
- the overview has one row per model and one column per task; the overall average (the
  unweighted mean of the task averages) exists only for models complete on every task it
  averages. Scores of opposite directions are never averaged together: when the tasks mix
  them, the overall average and rank use the higher-is-better tasks only, and the overview
  names the tasks left out (`Overview.left_out`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from xharness.errors import XharnessError
from xharness.suggest import did_you_mean
from xharness.leaderboard.collect import ResultEntry
from xharness.leaderboard.references import ReferenceRow

RANK_DECIMALS = 2


@dataclass(frozen=True)
class ModelRow:
    """One model on one task: its score per language of the table (None where missing)."""

    model: str
    rank: int | None
    scores: dict[str, float | None]
    average: float | None
    n_languages: int
    complete: bool
    source: str


@dataclass(frozen=True)
class TaskTable:
    task: str
    main_metric: str
    languages: tuple[str, ...]
    rows: tuple[ModelRow, ...]
    references: tuple[ReferenceRow, ...] = ()
    notes: tuple[str, ...] = ()
    higher_is_better: bool = True  # the task's declaration; False: ranked lowest first


@dataclass(frozen=True)
class OverviewRow:
    model: str
    rank: int | None
    averages: dict[str, float | None]  # task -> task average (None: no result for that task)
    task_complete: dict[str, bool]
    average: float | None  # over tasks; only for complete models
    complete: bool
    missing: tuple[str, ...]  # what keeps the model incomplete, for a note


@dataclass(frozen=True)
class Overview:
    tasks: tuple[str, ...]
    rows: tuple[OverviewRow, ...]
    higher_is_better: bool = True  # the direction of the overall average (that of every task it averages)
    left_out: tuple[str, ...] = ()  # lower-is-better tasks kept out of the overall average (the tasks mix directions)


@dataclass(frozen=True)
class Leaderboard:
    title: str
    tasks: tuple[TaskTable, ...]
    overview: Overview
    language_filter: tuple[str, ...] = ()
    task_filter: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    generated: str | None = None  # a timestamp, only when asked for


def mean(values: Sequence[float]) -> float | None:
    """Unweighted mean, or None for no values."""
    return sum(values) / len(values) if values else None


def competition_ranks(values: Sequence[float]) -> list[int]:
    """Ranks for values already sorted best first: equal values (after rounding) share a rank.

    Example:
        >>> competition_ranks([90.0, 80.004, 80.0, 70.0])
        [1, 2, 2, 4]
    """
    ranks: list[int] = []
    for i, value in enumerate(values):
        if i and round(value, RANK_DECIMALS) == round(values[i - 1], RANK_DECIMALS):
            ranks.append(ranks[-1])
        else:
            ranks.append(i + 1)
    return ranks


def _order(items: list, *, key_average, key_name, higher_is_better: bool = True) -> list:
    """Best first by rounded average (highest, or lowest), then by name (case-insensitive, then exact) for a stable order."""
    sign = -1 if higher_is_better else 1
    return sorted(items, key=lambda x: (sign * round(key_average(x), RANK_DECIMALS), key_name(x).lower(), key_name(x)))


def higher_is_better(task: str) -> bool:
    """The registered task's declaration (True for a task not registered here)."""
    from xharness.leaderboard.units import declaration

    return declaration(task).higher_is_better


def _normalise_filter(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def _check_filter(kind: str, flag: str, wanted: tuple[str, ...], known: set[str]) -> None:
    unknown = [v for v in wanted if v not in known]
    if unknown:
        listing = ", ".join(sorted(known)) or "none"
        hint = did_you_mean(unknown[0], sorted(known))
        raise XharnessError(f"{flag} {unknown[0]}: no result has this {kind} (found: {listing}){hint}")


def build_task_table(task: str, entries: Sequence[ResultEntry], *, languages: tuple[str, ...] = (), references: Sequence[ReferenceRow] = ()) -> TaskTable | None:
    """The model x language table of one task (None when a language filter leaves it empty)."""
    metrics = sorted({e.result.main_metric for e in entries})
    notes: list[str] = []
    if len(metrics) > 1:
        raise XharnessError(f"task '{task}': results disagree on the main metric ({', '.join(metrics)}); they cannot share a table")
    found = sorted({lang for e in entries for lang in e.result.scores})
    langs = tuple(lang for lang in found if not languages or lang in languages)
    if not langs:
        return None
    fingerprints: dict[str, set[str]] = {}
    for e in entries:
        files = e.result.task.get("data_files") or {}
        for lang in langs:
            info = files.get(lang) if isinstance(files, dict) else None
            if isinstance(info, dict) and isinstance(info.get("sha256"), str):
                fingerprints.setdefault(lang, set()).add(info["sha256"])
    differing = [lang for lang in langs if len(fingerprints.get(lang, ())) > 1]
    if differing:
        notes.append(
            "the models were not all evaluated on the same data for: " + ", ".join(differing)
            + " (different files or --limit); compare those columns with care"
        )
    rows = []
    for e in entries:
        scores = {lang: (e.result.scores[lang].main_score if lang in e.result.scores else None) for lang in langs}
        present = [v for v in scores.values() if v is not None]
        if not present:
            continue
        rows.append(
            ModelRow(
                model=e.model, rank=None, scores=scores, average=mean(present), n_languages=len(present),
                complete=len(present) == len(langs), source=e.source,
            )
        )
    higher = higher_is_better(task)
    complete = _order([r for r in rows if r.complete], key_average=lambda r: r.average, key_name=lambda r: r.model, higher_is_better=higher)
    incomplete = _order([r for r in rows if not r.complete], key_average=lambda r: r.average, key_name=lambda r: r.model, higher_is_better=higher)
    ranks = competition_ranks([r.average for r in complete])
    ranked = [replace(r, rank=rank) for r, rank in zip(complete, ranks)]
    if incomplete:
        notes.append(
            "models without a score for every language are listed after the ranked ones, "
            "with the average over the languages they have (not comparable, not ranked)"
        )
    task_refs = tuple(
        ref for ref in references
        if ref.task == task and ref.metric == metrics[0] and (ref.language is None or ref.language in langs)
    )
    return TaskTable(
        task=task, main_metric=metrics[0], languages=langs, rows=tuple(ranked + incomplete),
        references=task_refs, notes=tuple(notes), higher_is_better=higher,
    )


def build_overview(tables: Sequence[TaskTable]) -> Overview:
    tasks = tuple(t.task for t in tables)
    higher = any(t.higher_is_better for t in tables)  # mixed directions: the higher-is-better tasks are averaged
    averaged = tuple(t.task for t in tables if t.higher_is_better == higher)
    left_out = tuple(t for t in tasks if t not in averaged)
    models = sorted({row.model for t in tables for row in t.rows})
    rows = []
    for model in models:
        averages: dict[str, float | None] = {}
        task_complete: dict[str, bool] = {}
        missing = []
        for table in tables:
            row = next((r for r in table.rows if r.model == model), None)
            averages[table.task] = row.average if row else None
            task_complete[table.task] = bool(row and row.complete)
            if table.task in left_out:
                continue
            if row is None:
                missing.append(f"no {table.task} result")
            elif not row.complete:
                missing.append(f"{table.task}: {row.n_languages} of {len(table.languages)} languages")
        complete = not missing
        overall = mean([averages[t] for t in averaged]) if complete else None
        rows.append(
            OverviewRow(
                model=model, rank=None, averages=averages, task_complete=task_complete, average=overall,
                complete=complete, missing=tuple(missing),
            )
        )
    ranked = _order([r for r in rows if r.complete], key_average=lambda r: r.average, key_name=lambda r: r.model, higher_is_better=higher)
    ranks = competition_ranks([r.average for r in ranked])
    ranked = [replace(r, rank=rank) for r, rank in zip(ranked, ranks)]
    unranked = sorted((r for r in rows if not r.complete), key=lambda r: (r.model.lower(), r.model))
    return Overview(tasks=tasks, rows=tuple(ranked + unranked), higher_is_better=higher, left_out=left_out)


def direction_notes(overview: Overview) -> list[str]:
    """What the overview says about tasks whose scores run the other way (nothing when all are higher-is-better)."""
    if overview.left_out:
        return [
            "Lower is better on " + ", ".join(overview.left_out) + ": left out of the overall average and its rank, "
            "which average the higher-is-better tasks only (error rates and accuracies are not averaged together)."
        ]
    if not overview.higher_is_better:
        return ["Lower is better on every task here: the overall average is ranked lowest first."]
    return []


def build_leaderboard(
    entries: Sequence[ResultEntry],
    *,
    languages: Iterable[str] = (),
    tasks: Iterable[str] = (),
    references: Sequence[ReferenceRow] = (),
    title: str = "xharness leaderboard",
    skipped: Sequence[tuple[str, str]] = (),
    generated: str | None = None,
) -> Leaderboard:
    """Per-task tables and the overview from validated result entries, after language and task filters."""
    language_filter = _normalise_filter(languages)
    task_filter = _normalise_filter(tasks)
    _check_filter("task", "--task", task_filter, {e.task for e in entries})
    _check_filter("language", "--lang", language_filter, {lang for e in entries for lang in e.result.scores})
    by_task: dict[str, list[ResultEntry]] = {}
    for e in entries:
        if not task_filter or e.task in task_filter:
            by_task.setdefault(e.task, []).append(e)
    tables = []
    for task in sorted(by_task):
        table = build_task_table(task, by_task[task], languages=language_filter, references=references)
        if table is not None:
            tables.append(table)
    if not tables:
        raise XharnessError("no task has results for the chosen languages")
    return Leaderboard(
        title=title,
        tasks=tuple(tables),
        overview=build_overview(tables),
        language_filter=language_filter,
        task_filter=task_filter,
        sources=tuple(sorted(e.source for e in entries if e.task in by_task)),
        skipped=tuple(skipped),
        generated=generated,
    )
