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
- a table holds only comparable runs: one task, one protocol, one data identity
  (`data_identity`: a demo manifest, a known data set such as LASER's Tatoeba, or else
  per-language fingerprints that never disagree); runs that differ get their own table,
  headed by what its data is; reference rows appear only under the data they were published on;
- the overview has one row per model and one column per table; the overall average (the
  unweighted mean of the table averages) exists only for models complete on every table.
  Scores of opposite directions are never averaged together: when the tasks mix
  them, the overall average and rank use the higher-is-better tasks only, and the overview
  names the tasks left out (`Overview.left_out`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from xharness.errors import XharnessError
from xharness.hashing import sha256_bytes
from xharness.suggest import did_you_mean
from xharness.leaderboard.collect import ResultEntry
from xharness.leaderboard.data_identity import DataIdentity, identify, group_unknown, unknown_identity
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
    n: dict[str, int] = field(default_factory=dict)  # items behind each language's score
    spread: dict[str, float] = field(default_factory=dict)  # the score's std where the result has one (`<main>_std`)


@dataclass(frozen=True)
class TaskTable:
    task: str
    main_metric: str
    languages: tuple[str, ...]
    rows: tuple[ModelRow, ...]
    references: tuple[ReferenceRow, ...] = ()
    notes: tuple[str, ...] = ()
    higher_is_better: bool = True  # the task's declaration; False: ranked lowest first
    data_label: str = ""  # what the data is ("LASER v1", "demo (django 5.2 translation catalogues)")
    data_key: str = ""
    column: str = ""  # the table's name in the overview: the task, or task · data where a task has several tables
    baselines: tuple[tuple[str, dict[str, float | None]], ...] = ()  # (name, score per language): what a probe is read against

    @property
    def heading(self) -> str:
        n = len(self.languages)
        return " · ".join(x for x in (self.task, self.data_label, f"{n} language{'s' if n != 1 else ''}") if x)


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


def build_task_table(
    task: str, entries: Sequence[ResultEntry], *, languages: tuple[str, ...] = (), references: Sequence[ReferenceRow] = (),
    data: DataIdentity | None = None,
) -> TaskTable | None:
    """The model x language table of one task's comparable runs (None when a language filter leaves it empty)."""
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
        spread_metric = f"{metrics[0]}_std"
        rows.append(
            ModelRow(
                model=e.display, rank=None, scores=scores, average=mean(present), n_languages=len(present),
                complete=len(present) == len(langs), source=e.source,
                n={lang: e.result.scores[lang].n for lang in langs if lang in e.result.scores},
                spread={
                    lang: e.result.scores[lang].metrics[spread_metric] for lang in langs
                    if lang in e.result.scores and e.result.scores[lang].metrics.get(spread_metric) is not None
                },
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
    baselines = _baselines(entries, langs)
    short = sorted(
        {lang for e in entries for lang in langs if lang in e.result.scores
         and (e.result.scores[lang].metrics.get("unpredictable_share") or 0) > 0}
    )
    if short:
        notes.append("the probe cannot predict some test labels (they are missing from its training labels) in: " + ", ".join(short))
    task_refs = tuple(
        ref for ref in references
        if ref.task == task and ref.metric == metrics[0] and (ref.language is None or ref.language in langs)
        and (ref.data is None or (data is not None and ref.data == data.dataset and ";limit=" not in data.key))
    )
    return TaskTable(
        task=task, main_metric=metrics[0], languages=langs, rows=tuple(ranked + incomplete),
        references=task_refs, notes=tuple(notes), higher_is_better=higher, baselines=baselines,
        data_label=data.label if data else "", data_key=data.key if data else "", column=task,
    )


BASELINES = (("majority_baseline", "majority class"), ("chance_baseline", "chance (uniform)"))


def _baselines(entries: Sequence[ResultEntry], langs: tuple[str, ...]) -> tuple[tuple[str, dict[str, float | None]], ...]:
    """Per-language baselines recorded by classification probes (the same data in one table: the first found)."""
    out = []
    for metric, name in BASELINES:
        values: dict[str, float | None] = {}
        for lang in langs:
            found = [e.result.scores[lang].metrics.get(metric) for e in entries if lang in e.result.scores]
            values[lang] = next((v for v in found if v is not None), None)
        if any(v is not None for v in values.values()):
            out.append((name, values))
    return tuple(out)


# What a probe's fit chose or how it went, recorded in its protocol beside the settings: differs
# between models by nature, so it never splits a table (tasks/classification.py `protocol`).
PROTOCOL_OUTCOMES = frozenset({"chosen_c", "c_selected_by", "converged", "train_size_per_seed", "skipped_empty_test_rows"})


def protocol_key(task: dict) -> str:
    """A hash of what defines the protocol: task version, split and the protocol's settings (not its outcomes)."""
    protocol = task.get("protocol")
    if isinstance(protocol, dict):
        protocol = {k: v for k, v in protocol.items() if k not in PROTOCOL_OUTCOMES}
    return sha256_bytes(json.dumps([task.get("version"), task.get("split"), protocol], sort_keys=True, default=str).encode())


def _protocol_key(entry: ResultEntry) -> str:
    return protocol_key(entry.result.task)


def comparable_groups(entries: Sequence[ResultEntry]) -> list[tuple[DataIdentity, str, list[ResultEntry]]]:
    """One task's entries split into groups that may share a table: (data identity, protocol key, entries)."""
    by_key: dict[tuple[str, str], tuple[DataIdentity, list[ResultEntry]]] = {}
    unknown: dict[tuple[str, object], list[ResultEntry]] = {}
    for e in entries:
        identity = identify(e.result)
        if identity is None:
            unknown.setdefault((_protocol_key(e), e.result.config.get("limit")), []).append(e)
            continue
        by_key.setdefault((identity.key, _protocol_key(e)), (identity, []))[1].append(e)
    groups = [(identity, protocol, members) for (_, protocol), (identity, members) in by_key.items()]
    for (protocol, limit), members in unknown.items():
        for indices in group_unknown([m.result for m in members]):
            chosen = [members[i] for i in indices]
            identity = unknown_identity([m.result for m in chosen], limit=limit if isinstance(limit, int) else None)
            groups.append((identity, protocol, chosen))
    return sorted(groups, key=lambda g: (g[0].label.lower(), g[0].label, g[0].key, g[1]))


def _task_tables(task, entries, *, languages, references) -> list[TaskTable]:
    groups = comparable_groups(entries)
    protocols = {protocol for _, protocol, _ in groups}
    tables = []
    for identity, protocol, members in groups:
        if len(protocols) > 1:
            identity = replace(identity, label=f"{identity.label} · protocol {protocol[:6]}")
        table = build_task_table(task, members, languages=languages, references=references, data=identity)
        if table is not None:
            tables.append(table)
    if len(tables) > 1:
        tables = [replace(t, column=f"{t.task} · {t.data_label}") for t in tables]
    return tables


def build_overview(tables: Sequence[TaskTable]) -> Overview:
    tasks = tuple(t.column for t in tables)
    higher = any(t.higher_is_better for t in tables)  # mixed directions: the higher-is-better tables are averaged
    averaged = tuple(t.column for t in tables if t.higher_is_better == higher)
    left_out = tuple(t for t in tasks if t not in averaged)
    models = sorted({row.model for t in tables for row in t.rows})
    rows = []
    for model in models:
        averages: dict[str, float | None] = {}
        task_complete: dict[str, bool] = {}
        missing = []
        for table in tables:
            row = next((r for r in table.rows if r.model == model), None)
            averages[table.column] = row.average if row else None
            task_complete[table.column] = bool(row and row.complete)
            if table.column in left_out:
                continue
            if row is None:
                missing.append(f"no {table.column} result")
            elif not row.complete:
                missing.append(f"{table.column}: {row.n_languages} of {len(table.languages)} languages")
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
        tables += _task_tables(task, by_task[task], languages=language_filter, references=references)
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
