"""Comparing two runs item by item: per task and language, both scores, the difference and its
paired bootstrap interval.

A and B are two result files of one task, or two model folders (every task both hold). Two
runs are compared only when they measured the same thing on the same items: the same task
version, split, main metric and protocol, and per language the same data fingerprint;
anything else is refused with one line. What is resampled is what the task declares: its
class's `item_record` (looked up in the task registry by the result's task name) names the
per-item fields and the bootstrap unit (`units`: a mean over a per-item value, or F1 over
mined pairs), and `higher_is_better` says which sign of a difference is a gain.

Before resampling, the statistic is recomputed from the per-item outcomes and must equal the
file's `main_score`; a language whose outcomes cannot reproduce it (or that has none, or whose
task is not registered here) gets its scores and difference but no interval, with the reason.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

import numpy as np

from xharness.errors import XharnessError
from xharness.suggest import did_you_mean
from xharness.tasks.languages import to_short
from xharness.leaderboard.adjust import METHODS, adjust_p_values, bootstrap_p_value
from xharness.leaderboard.bootstrap import percentile_interval, resampled_deltas
from xharness.leaderboard.units import NoUnits, bootstrap_units, declaration, describe
from xharness.results import ITEMS_SUFFIX, TaskResult, load_items


@dataclass(frozen=True)
class ComparisonRow:
    """One language (or the task average, `language='avg'`) of one task."""

    task: str
    language: str
    n: int | None
    score_a: float | None
    score_b: float | None
    delta: float | None
    low: float | None = None
    high: float | None = None
    note: str | None = None
    p: float | None = None  # two-sided bootstrap p-value (adjust.bootstrap_p_value)
    p_adjusted: float | None = None  # after the task's multiple-comparison adjustment
    flagged: bool | None = None  # set by `adjust_rows`; None: the interval rule

    @property
    def significant(self) -> bool:
        if self.flagged is not None:
            return self.flagged
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "language": self.language, "n": self.n, "score_a": self.score_a,
            "score_b": self.score_b, "delta": self.delta, "low": self.low, "high": self.high,
            **({"p": self.p, "p_adjusted": self.p_adjusted} if self.p is not None else {}),
            "significant": self.significant, "note": self.note,
        }


@dataclass(frozen=True)
class TaskComparison:
    task: str
    main_metric: str
    unit: str
    rows: tuple[ComparisonRow, ...]
    average: ComparisonRow | None
    only_a: tuple[str, ...] = ()
    only_b: tuple[str, ...] = ()
    higher_is_better: bool = True  # the task's declaration: which sign of B - A is a gain


@dataclass(frozen=True)
class Comparison:
    model_a: str
    model_b: str
    source_a: str
    source_b: str
    tasks: tuple[TaskComparison, ...]
    n_resamples: int
    seed: int
    confidence: float
    tasks_only_a: tuple[str, ...] = ()
    tasks_only_b: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    adjust: str = "none"  # the multiple-comparison adjustment over each task's languages (adjust.METHODS)


# -- finding the pairs ------------------------------------------------------------------------


def _result_files(folder: Path) -> dict[str, Path]:
    files = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(ITEMS_SUFFIX) or path.name.startswith("."):
            continue
        files[path.name[: -len(".json")]] = path
    return files


def resolve_pairs(a: Path, b: Path) -> tuple[list[tuple[Path, Path]], list[str], list[str]]:
    """(pairs of result files to compare, tasks only in A, tasks only in B)."""
    a, b = Path(a), Path(b)
    for path in (a, b):
        if not path.exists():
            raise XharnessError(f"{path}: not found (give two result files or two model folders)")
    if a.is_file() != b.is_file():
        raise XharnessError(f"{a} and {b}: give two result files or two model folders, not one of each")
    if a.is_file():
        if a.name.endswith(ITEMS_SUFFIX) or b.name.endswith(ITEMS_SUFFIX):
            raise XharnessError("give the result files (<task>.json), not their per-item sidecars (<task>.items.json)")
        return [(a, b)], [], []
    files_a, files_b = _result_files(a), _result_files(b)
    if not files_a:
        raise XharnessError(f"{a}: no result files (<task>.json) in this folder")
    if not files_b:
        raise XharnessError(f"{b}: no result files (<task>.json) in this folder")
    common = sorted(set(files_a) & set(files_b))
    if not common:
        raise XharnessError(
            f"{a} and {b} have no task in common ({', '.join(sorted(files_a))} vs {', '.join(sorted(files_b))})"
        )
    return (
        [(files_a[t], files_b[t]) for t in common],
        sorted(set(files_a) - set(files_b)),
        sorted(set(files_b) - set(files_a)),
    )


# -- checking that two runs are comparable ----------------------------------------------------


def _short(fingerprint: object) -> str:
    return str(fingerprint)[:12]


# Protocol entries that record how a run went, not how it was set up: the C each classification
# probe chose on dev and whether it converged depend on the model's features, so they differ
# between any two models run with the same probe settings; so do a fine-tuning's dev curve and chosen step.
RUN_OUTCOMES = frozenset({"chosen_c", "converged", "dev_evaluations", "chosen_step"})


def _first_difference(a: object, b: object, where: str) -> str:
    """The dotted path of the first (sorted) difference between two protocol values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}")
    return where


def check_comparable(a: TaskResult, b: TaskResult) -> None:
    """Raise XharnessError (one line) unless A and B measured the same task the same way."""
    task = a.task["name"]
    if a.task["name"] != b.task["name"]:
        raise XharnessError(f"cannot compare different tasks: {a.task['name']} vs {b.task['name']}")
    for key in ("version", "split", "main_metric"):
        if a.task.get(key) != b.task.get(key):
            raise XharnessError(f"{task}: the runs differ in task {key} ({a.task.get(key)} vs {b.task.get(key)}); refusing to compare")
    pa, pb = a.task.get("protocol") or {}, b.task.get("protocol") or {}
    if isinstance(pa, dict) and isinstance(pb, dict):
        pa = {k: v for k, v in pa.items() if k not in RUN_OUTCOMES}
        pb = {k: v for k, v in pb.items() if k not in RUN_OUTCOMES}
    if pa != pb:
        where = _first_difference(pa, pb, "protocol")
        raise XharnessError(f"{task}: the runs used different protocols ({where} differs); refusing to compare")


def _language_fingerprint(result: TaskResult, lang: str) -> str | None:
    files = result.task.get("data_files")
    if isinstance(files, dict) and isinstance(files.get(lang), dict):
        value = files[lang].get("sha256")
        if isinstance(value, str):
            return value
    return None


def check_same_data(a: TaskResult, b: TaskResult, lang: str) -> None:
    task = a.task["name"]
    fa, fb = _language_fingerprint(a, lang), _language_fingerprint(b, lang)
    if fa is None or fb is None:
        # Fall back to the whole-run fingerprint (it covers every language the run had).
        fa, fb = a.task.get("data_fingerprint"), b.task.get("data_fingerprint")
        if fa is None or fb is None:
            raise XharnessError(f"{task}/{lang}: a result has no data fingerprint; cannot tell whether both runs used the same items")
    if fa != fb:
        raise XharnessError(
            f"{task}/{lang}: the runs used different data (fingerprint {_short(fa)} vs {_short(fb)}: other files or --limit); "
            "a paired comparison needs the same items"
        )


# -- the comparison ---------------------------------------------------------------------------


def language_seed(seed: int, task: str, lang: str) -> list[int]:
    """A stable, distinct random stream per (task, language), so languages resample independently."""
    return [seed, zlib.crc32(f"{task}\0{lang}".encode("utf-8"))]


def _load_items(path: Path) -> dict[str, Any] | None:
    try:
        return load_items(path)
    except XharnessError:
        return None


def compare_pair(
    path_a: Path,
    path_b: Path,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    languages: Sequence[str] = (),
) -> tuple[TaskComparison, TaskResult, TaskResult]:
    a, b = TaskResult.from_disk(path_a), TaskResult.from_disk(path_b)
    comparison, _ = compare_results(
        a, b, path_a, path_b, n_resamples=n_resamples, seed=seed, confidence=confidence, languages=languages
    )
    return comparison, a, b


def mean_replicates(replicates: Sequence[np.ndarray]) -> np.ndarray:
    """Replicates of an unweighted mean over independent samples: their replicates averaged index by index."""
    return np.mean(np.stack(replicates), axis=0)


def compare_results(
    a: TaskResult,
    b: TaskResult,
    path_a: Path,
    path_b: Path,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    languages: Sequence[str] = (),
) -> tuple[TaskComparison, dict[str, np.ndarray]]:
    """Two loaded runs of one task (their files beside, for the per-item outcomes), checked and compared.

    Returns the comparison and each language's bootstrap replicates of B - A (languages
    without an interval have none), so callers can derive more from the same resamples.
    """
    path_a, path_b = Path(path_a), Path(path_b)
    check_comparable(a, b)
    task, metric = a.task["name"], a.main_metric
    declared = declaration(task)
    shared = sorted(set(a.scores) & set(b.scores))
    if languages:
        shared = [lang for lang in shared if lang in languages]
    for lang in shared:
        check_same_data(a, b, lang)
    items_a, items_b = _load_items(path_a), _load_items(path_b)
    rows, replicates = [], {}
    for lang in shared:
        sa, sb = a.scores[lang].main_score, b.scores[lang].main_score
        try:
            if items_a is None or items_b is None:
                raise NoUnits("per-item file missing or unreadable (" + (f"{path_a.name}" if items_a is None else f"{path_b.name}") + ")")
            kind, units_a, units_b = bootstrap_units(declared, lang, a, items_a.get(lang), b, items_b.get(lang))
        except NoUnits as why:
            rows.append(ComparisonRow(task, lang, a.scores[lang].n, sa, sb, sb - sa, note=f"no interval: {why}"))
            continue
        deltas = resampled_deltas(units_a, units_b, n_resamples=n_resamples, seed=language_seed(seed, task, lang), metric=kind)
        low, high = percentile_interval(deltas, confidence=confidence)
        rows.append(ComparisonRow(task, lang, int(units_a.shape[0]) if kind == "mean" else a.scores[lang].n, sa, sb, sb - sa, low, high))
        replicates[lang] = deltas
    average = None
    if len(shared) > 1:
        mean_a = sum(r.score_a for r in rows) / len(rows)
        mean_b = sum(r.score_b for r in rows) / len(rows)
        if len(replicates) == len(rows):
            # Languages are independent samples: average their replicates index by index.
            low, high = percentile_interval(mean_replicates(list(replicates.values())), confidence=confidence)
            average = ComparisonRow(task, "avg", None, mean_a, mean_b, mean_b - mean_a, low, high)
        else:
            average = ComparisonRow(task, "avg", None, mean_a, mean_b, mean_b - mean_a, note="no interval: some languages have none")
    comparison = TaskComparison(
        task=task,
        main_metric=metric,
        unit=describe(declared.record),
        rows=tuple(rows),
        average=average,
        only_a=tuple(sorted(set(a.scores) - set(b.scores))),
        only_b=tuple(sorted(set(b.scores) - set(a.scores))),
        higher_is_better=declared.higher_is_better,
    )
    return comparison, replicates


def adjust_rows(comparison: TaskComparison, replicates: dict[str, np.ndarray], *, adjust: str, alpha: float) -> TaskComparison:
    """Flag rows by adjusted bootstrap p-values, as `report` does: one family per task's languages;
    the task average is one test, not adjusted. With `adjust='none'` the flags stay the interval rule."""
    if adjust == "none":
        return comparison
    tested = [r.language for r in comparison.rows if r.language in replicates]
    raw = [bootstrap_p_value(replicates[lang]) for lang in tested]
    adjusted = dict(zip(tested, zip(raw, adjust_p_values(raw, adjust).tolist()))) if tested else {}
    rows = tuple(
        replace(r, p=adjusted[r.language][0], p_adjusted=adjusted[r.language][1], flagged=adjusted[r.language][1] <= alpha)
        if r.language in adjusted else replace(r, flagged=False)
        for r in comparison.rows
    )
    average = comparison.average
    if average is not None and average.low is not None and len(replicates) == len(comparison.rows):
        p = bootstrap_p_value(mean_replicates(list(replicates.values())))
        average = replace(average, p=p, p_adjusted=p, flagged=p <= alpha)
    return replace(comparison, rows=rows, average=average)


def _check_languages(languages: Sequence[str], results: Sequence[TaskResult]) -> list[str]:
    """`-l` codes as result codes (LASER's three letters accepted); one no result has is refused."""
    found = sorted({lang for r in results for lang in r.scores})
    wanted = []
    for code in languages:
        lang = code.strip() if code.strip() in found else (to_short(code) or code.strip())
        if lang not in found:
            raise XharnessError(f"--lang {code}: no compared result has this language (found: {', '.join(found)}){did_you_mean(code, found)}")
        wanted.append(lang)
    return wanted


def _display(path: Path) -> str:
    return PurePosixPath(Path(path)).as_posix()


def compare(
    a: Path,
    b: Path,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    tasks: Sequence[str] = (),
    languages: Sequence[str] = (),
    adjust: str = "holm",
) -> Comparison:
    """Compare two result files or two model folders (see the module docstring)."""
    if adjust not in METHODS:
        raise XharnessError(f"--adjust must be one of {', '.join(METHODS)}, got '{adjust}'")
    if n_resamples < 1:
        raise XharnessError(f"--resamples must be at least 1, got {n_resamples}")
    if not 0 < confidence < 1:
        raise XharnessError(f"--confidence must be between 0 and 1, got {confidence}")
    pairs, only_a, only_b = resolve_pairs(a, b)
    if tasks:
        wanted = set(tasks)
        pairs = [(pa, pb) for pa, pb in pairs if pa.name[: -len(".json")] in wanted]
        if not pairs:
            raise XharnessError(f"none of the tasks {', '.join(tasks)} is in both A and B")
    loaded = [(pa, pb, TaskResult.from_disk(pa), TaskResult.from_disk(pb)) for pa, pb in pairs]
    if languages:
        languages = _check_languages(languages, [r for _, _, ra, rb in loaded for r in (ra, rb)])
    comparisons, names_a, names_b = [], [], []
    for pa, pb, ra, rb in loaded:
        comparison, replicates = compare_results(
            ra, rb, pa, pb, n_resamples=n_resamples, seed=seed, confidence=confidence, languages=languages
        )
        if not comparison.rows:
            continue
        comparisons.append(adjust_rows(comparison, replicates, adjust=adjust, alpha=1 - confidence))
        names_a.append(ra.model["name"])
        names_b.append(rb.model["name"])
    if not comparisons:
        raise XharnessError("no language is in both runs" + (f" among {', '.join(languages)}" if languages else ""))
    return Comparison(
        model_a=names_a[0],
        model_b=names_b[0],
        source_a=_display(a),
        source_b=_display(b),
        tasks=tuple(comparisons),
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
        tasks_only_a=tuple(only_a),
        tasks_only_b=tuple(only_b),
        adjust=adjust,
    )
