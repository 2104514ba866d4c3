"""A name -> "module:attribute" registry that imports lazily and refuses duplicates.

Listing what exists never imports a heavy backend; a typo gets the nearest name suggested.
"""

from __future__ import annotations

import importlib
from typing import Any

from xharness.errors import XharnessError
from xharness.suggest import nearest


class Registry:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._targets: dict[str, str] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, target: str, *, aliases: tuple[str, ...] = ()) -> None:
        for key in (name, *aliases):
            if key in self._targets or key in self._aliases:
                raise ValueError(f"{self.kind} '{key}' is already registered")
        self._targets[name] = target
        for alias in aliases:
            self._aliases[alias] = name

    def names(self) -> list[str]:
        return list(self._targets)

    def canonical(self, name: str) -> str:
        key = name.strip().lower()
        if key in self._targets:
            return key
        if key in self._aliases:
            return self._aliases[key]
        hint = nearest(key, [*self._targets, *self._aliases])
        suggestion = f"; did you mean '{hint}'?" if hint else f"; known: {', '.join(self._targets)}"
        raise XharnessError(f"unknown {self.kind} '{name}'{suggestion}")

    def get(self, name: str) -> Any:
        module_name, _, attribute = self._targets[self.canonical(name)].partition(":")
        return getattr(importlib.import_module(module_name), attribute)
