"""What a task's per-item outcomes hold: the declaration `compare` and `report` read.

Each task class declares `item_record: ClassVar[ItemRecord]`: the fields of one language's
per-item outcomes (the lists written to `<task>.items.json`), their types, and the bootstrap
unit the statistics resample. Plain data, importable without numpy or torch.

Bootstrap units (a closed set; `xharness.leaderboard.units` implements them):

- ``"mean"``: one value per item in `value_field`, in [0, 1] (0/1 correctness, a reciprocal
  rank, an AP@20, an error flag), or one list of such values per item (probe seeds), averaged
  per item; the statistic is mean x 100 and must reproduce the file's `main_score`.
- ``"pair-f1"``: mined candidate pairs (`pair_fields`), each flagged gold (`gold_field`) and
  accepted (`accepted_field`); F1 x 100 over the gold pairs and every accepted candidate, with
  the number of gold pairs read from the language's metric `gold_count_metric`.

Example:
    >>> record = ItemRecord(
    ...     fields=(ItemField("rr", "float", "reciprocal rank of the gold answer (0 when not in the top 20)"),),
    ...     unit="mean", value_field="rr")
    >>> record.names, record.required
    (('rr',), ('rr',))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

UNIT_KINDS = ("mean", "pair-f1")


@dataclass(frozen=True)
class ItemField:
    """One per-item list: its name in the items file, the type of one entry, and what it holds."""

    name: str
    type: str  # of one item's entry, e.g. "int", "float", "str", "list[int]" (one 0/1 per seed)
    description: str
    required: bool = True  # False: only some languages or splits write it (the description says when)


@dataclass(frozen=True)
class ItemRecord:
    """The per-item outcomes of one language, and how the statistics resample them (module docstring)."""

    fields: tuple[ItemField, ...]
    unit: str
    value_field: str | None = None  # unit "mean"
    value_label: str | None = None  # unit "mean": what one value is, in words ("correctness")
    pair_fields: tuple[str, ...] = ()  # unit "pair-f1": the fields that name a candidate pair
    gold_field: str | None = None  # unit "pair-f1": 0/1, the pair is gold
    accepted_field: str | None = None  # unit "pair-f1": 0/1, the run accepted the pair
    gold_count_metric: str | None = None  # unit "pair-f1": the language metric holding the gold pair count

    def __post_init__(self) -> None:
        if self.unit not in UNIT_KINDS:
            raise ValueError(f"unknown bootstrap unit {self.unit!r}; choose one of {', '.join(UNIT_KINDS)}")
        names = self.names
        if len(set(names)) != len(names):
            raise ValueError(f"item fields repeat a name: {', '.join(names)}")
        if self.unit == "mean":
            roles = {"value_field": self.value_field}
        else:
            roles = {"gold_field": self.gold_field, "accepted_field": self.accepted_field}
            roles.update({f"pair_fields[{i}]": name for i, name in enumerate(self.pair_fields)})
            if len(self.pair_fields) != 2 or not self.gold_count_metric:
                raise ValueError("unit 'pair-f1' needs two pair_fields and a gold_count_metric")
        for role, name in roles.items():
            if name not in names:
                raise ValueError(f"unit {self.unit!r}: {role} {name!r} is not one of the declared fields ({', '.join(names)})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def mismatch(self, items: Mapping[str, object]) -> str | None:
        """Why one language's items do not hold exactly the declared fields (None when they do)."""
        extra = sorted(set(items) - set(self.names))
        missing = [name for name in self.required if name not in items]
        if not extra and not missing:
            return None
        parts = ([f"undeclared {', '.join(extra)}"] if extra else []) + ([f"missing {', '.join(missing)}"] if missing else [])
        return "; ".join(parts) + f" (declared: {', '.join(self.names)})"
