"""Task options as data: each task declares what it takes; the CLI, `xharness tasks` and the runner read it.

A declaration names the option, its type, its choices (owned by the module that implements
them), its default and whether it changes numbers. Only options that change numbers enter the
result's `config` and the keys of finished work; validation happens here, once.

Example:
    >>> K.check(4)
    4
    >>> TaskOption("lr", float, 2e-5, "learning rate", minimum=0).check(1)
    1.0
    >>> K.flag
    '--k'
    >>> MARGIN.check("cosine")
    Traceback (most recent call last):
    ...
    xharness.errors.XharnessError: --margin must be one of ratio, distance, absolute, got 'cosine'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from xharness.errors import XharnessError


@dataclass(frozen=True)
class TaskOption:
    """One option a task takes (a `--name` flag on `xharness eval`)."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: int | float | None = None
    changes_numbers: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """`value` if it is valid for this option (None allowed when the default is None)."""
        if value is None and self.default is None:
            return None
        if self.type is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise XharnessError(f"{self.flag} must be a whole number, got {value!r}")
        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise XharnessError(f"{self.flag} must be a number, got {value!r}")
            value = float(value)
        if self.type is bool and not isinstance(value, bool):
            raise XharnessError(f"{self.flag} is a flag (true or false), got {value!r}")
        if self.type is str and not isinstance(value, str):
            raise XharnessError(f"{self.flag} must be text, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise XharnessError(f"{self.flag} must be one of {', '.join(self.choices)}, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise XharnessError(f"{self.flag} must be at least {self.minimum}, got {value}")
        return value

    def describe(self) -> str:
        """One line for `xharness tasks`."""
        kind = "|".join(self.choices) if self.choices else ("flag" if self.type is bool else self.type.__name__)
        note = "" if self.changes_numbers else ", changes no number"
        return f"{self.flag} {kind} (default {self.default}{note}): {self.help}"


def resolve(declared: Iterable[TaskOption], given: Mapping[str, Any], *, task: str) -> Mapping[str, Any]:
    """Every declared option's value (given or default), checked; an undeclared one is refused."""
    by_name = {option.name: option for option in declared}
    for name in given:
        if name not in by_name:
            raise XharnessError(f"--{name.replace('_', '-')} does not apply to task {task}")
    return MappingProxyType({name: option.check(given.get(name, option.default)) for name, option in by_name.items()})


def merged(declarations: Iterable[Iterable[TaskOption]]) -> dict[str, TaskOption]:
    """One flag per option name over several tasks, for the command line.

    Tasks may share a name only with one type; their choices are pooled for the flag (each task
    still checks the value against its own declaration), and the defaults are said per task.
    """
    out: dict[str, TaskOption] = {}
    for declared in declarations:
        for option in declared:
            seen = out.get(option.name)
            if seen is None:
                out[option.name] = option
                continue
            if seen.type is not option.type:
                raise ValueError(f"task option '{option.name}' is declared twice with different types")
            if seen.choices != option.choices or seen.default != option.default:
                choices = None if seen.choices is None or option.choices is None else tuple(dict.fromkeys(seen.choices + option.choices))
                out[option.name] = replace(seen, choices=choices, default=None, help=f"{seen.help} (the choices and default are each task's own)")
    return out


# Options shared by the retrieval tasks; the choices come from the modules that implement them.
def _retrieval_options() -> tuple[TaskOption, TaskOption]:
    from xharness.tasks.mining import MARGINS

    return (
        TaskOption("k", int, 4, "neighbours for margin scoring", minimum=1),
        TaskOption("margin", str, "ratio", "margin function", choices=MARGINS),
    )


K, MARGIN = _retrieval_options()
