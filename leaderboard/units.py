"""Per-item outcomes -> paired bootstrap units, read through the task's declared `item_record`.

The statistics know a closed set of units (`xharness.tasks.item_records` documents them):

- ``"mean"``: one value per item in the declared value field, in [0, 1] (per-seed lists are
  averaged per item); resampled as `bootstrap`'s ``"mean"`` statistic;
- ``"pair-f1"``: the gold pairs together with every candidate either run accepted, each unit
  scored as a true positive, false positive or false negative (see `bootstrap`); gold pairs
  that neither run even mined count as false negatives for both.

Before resampling, the statistic is recomputed from the per-item outcomes and must equal the
file's `main_score`; otherwise `NoUnits` says why and the caller shows no interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xharness.errors import XharnessError
from xharness.leaderboard.bootstrap import statistic
from xharness.results import TaskResult
from xharness.tasks.item_records import ItemRecord

UNIT_KINDS = ("mean", "pair-f1")
# The `bootstrap` statistic each unit is resampled with.
STATISTICS = {"mean": "mean", "pair-f1": "f1"}
# How close the statistic recomputed from items must be to the file's main_score (x100 units).
REPRODUCE_TOLERANCE = 1e-6
NO_UNIT = "none"


class NoUnits(Exception):
    """A language's per-item outcomes cannot carry a bootstrap (the message says why)."""


@dataclass(frozen=True)
class Declaration:
    """What the registered task says about its outputs (record None: not a task registered here)."""

    task: str
    record: ItemRecord | None
    higher_is_better: bool = True
    missing: str = ""  # why there is no record


def declaration(task: str) -> Declaration:
    """The item record and direction of the registered task named `task` (no record when unknown)."""
    from xharness.tasks import TASKS

    try:
        cls = TASKS.get(task)
    except XharnessError:
        return Declaration(task, None, missing=f"task '{task}' is not registered here, so its per-item record is unknown")
    record = getattr(cls, "item_record", None)
    higher = bool(getattr(cls, "higher_is_better", True))
    if record is None:
        return Declaration(task, None, higher, missing=f"task '{task}' declares no per-item record")
    return Declaration(task, record, higher)


def describe(record: ItemRecord | None) -> str:
    """What is resampled, in words (shown by compare and report)."""
    if record is None:
        return NO_UNIT
    if record.unit == "mean":
        label = record.value_label or f"'{record.value_field}'"
        return f"items (per-item {label}; per-seed lists averaged per item)"
    return "gold pairs and every candidate either run accepted (F1 over resampled pairs)"


def _reproduces(recomputed: float, main_score: float) -> bool:
    return abs(recomputed - main_score) <= REPRODUCE_TOLERANCE * max(1.0, abs(main_score))


def mean_units(items: dict, field: str, main_score: float) -> np.ndarray:
    values = items.get(field)
    if not isinstance(values, list) or not values:
        raise NoUnits(f"no per-item '{field}' outcomes")
    try:
        if all(isinstance(x, list) for x in values):
            array = np.array([float(np.mean(np.asarray(x, dtype=np.float64))) if x else math.nan for x in values])
        else:
            array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise NoUnits(f"per-item '{field}' outcomes are not numbers") from None
    if array.ndim != 1 or not np.isfinite(array).all() or ((array < 0) | (array > 1)).any():
        raise NoUnits(f"per-item '{field}' values must lie in [0, 1] (or be per-seed lists of such)")
    recomputed = statistic(array, metric="mean")
    if not _reproduces(recomputed, main_score):
        raise NoUnits(f"per-item outcomes give {recomputed:.4f}, not the file's main_score {main_score:.4f}")
    return array


def _pairs(items: dict, record: ItemRecord) -> dict[tuple[str, str], tuple[int, int]]:
    """(pair) -> (is_gold, accepted) of one run's candidates."""
    needed = (*record.pair_fields, record.gold_field, record.accepted_field)
    missing = [k for k in needed if not isinstance(items.get(k), list)]
    if missing:
        raise NoUnits(f"no per-candidate {', '.join(repr(k) for k in missing)} (a split without gold has no F1 to compare)")
    columns = [items[k] for k in needed]
    if len({len(c) for c in columns}) != 1:
        raise NoUnits("per-candidate lists have different lengths")
    flags = f"'{record.gold_field}'/'{record.accepted_field}'"
    pairs: dict[tuple[str, str], tuple[int, int]] = {}
    for s, t, gold, accepted in zip(*columns):
        if gold not in (0, 1) or accepted not in (0, 1):
            raise NoUnits(f"per-candidate {flags} must be 0/1")
        key = (str(s), str(t))
        old = pairs.get(key)
        if old is not None and old[0] != gold:
            raise NoUnits(f"candidate {key} is both gold and not gold")
        pairs[key] = (int(gold), int(accepted) | (old[1] if old else 0))
    return pairs


def pair_f1_units(
    items_a: dict, items_b: dict, record: ItemRecord, n_gold: int, score_a: float, score_b: float
) -> tuple[np.ndarray, np.ndarray]:
    pa, pb = _pairs(items_a, record), _pairs(items_b, record)
    rows_a, rows_b = [], []
    for key in sorted(set(pa) | set(pb)):
        ga, aa = pa.get(key, (None, 0))
        gb, ab = pb.get(key, (None, 0))
        if ga is not None and gb is not None and ga != gb:
            raise NoUnits(f"candidate {key} is gold in one run and not in the other (different gold?)")
        gold = ga if ga is not None else gb
        if not (gold or aa or ab):
            continue  # neither gold nor accepted by either run: cannot change F1
        rows_a.append((gold, aa))
        rows_b.append((gold, ab))
    seen_gold = sum(1 for r in rows_a if r[0])
    unmined = n_gold - seen_gold
    if unmined < 0:
        raise NoUnits(f"more gold candidates ({seen_gold}) than gold pairs ({n_gold})")
    rows_a += [(1, 0)] * unmined
    rows_b += [(1, 0)] * unmined
    if not rows_a:
        raise NoUnits("no gold pairs and nothing accepted")
    a, b = np.asarray(rows_a, dtype=np.float64), np.asarray(rows_b, dtype=np.float64)
    for units, main, side in ((a, score_a, "A"), (b, score_b, "B")):
        recomputed = statistic(units, metric="f1")
        if not _reproduces(recomputed, main):
            raise NoUnits(f"run {side}'s candidates give F1 {recomputed:.4f}, not the file's main_score {main:.4f}")
    return a, b


def bootstrap_units(
    declared: Declaration, lang: str, a: TaskResult, items_a: dict, b: TaskResult, items_b: dict
) -> tuple[str, np.ndarray, np.ndarray]:
    """(bootstrap statistic, units_a, units_b) for `resampled_deltas`; raises NoUnits with the reason."""
    record = declared.record
    if record is None:
        raise NoUnits(declared.missing)
    score_a, score_b = a.scores[lang].main_score, b.scores[lang].main_score
    if not isinstance(items_a, dict) or not isinstance(items_b, dict):
        raise NoUnits("no per-item outcomes for this language")
    if record.unit == "mean":
        units_a = mean_units(items_a, record.value_field, score_a)
        units_b = mean_units(items_b, record.value_field, score_b)
        if units_a.shape != units_b.shape:
            raise NoUnits(f"the runs have different item counts ({units_a.size} vs {units_b.size})")
        return STATISTICS["mean"], units_a, units_b
    if record.unit == "pair-f1":
        metric = record.gold_count_metric
        n_gold = a.scores[lang].metrics.get(metric)
        if n_gold is None or n_gold != b.scores[lang].metrics.get(metric):
            raise NoUnits(f"the runs do not record the same gold pair count ({metric})")
        units_a, units_b = pair_f1_units(items_a, items_b, record, int(n_gold), score_a, score_b)
        return STATISTICS["pair-f1"], units_a, units_b
    raise NoUnits(f"no paired bootstrap is defined for unit '{record.unit}'")
