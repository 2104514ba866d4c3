"""The one "did you mean" of the house: the nearest known name to a mistyped one."""

from __future__ import annotations

import difflib
from typing import Iterable


def nearest(name: str, known: Iterable[str], *, cutoff: float = 0.5) -> str | None:
    """The known name closest to `name` (difflib ratio >= `cutoff`), or None.

    Example:
        >>> nearest("tatoba", ["tatoeba", "bucc2018"])
        'tatoeba'
        >>> nearest("zz", ["tatoeba"]) is None
        True
    """
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return match[0] if match else None


def did_you_mean(name: str, known: Iterable[str], *, cutoff: float = 0.5) -> str:
    """`"; did you mean 'x'?"` for the nearest known name, or "" when nothing is close.

    Example:
        >>> did_you_mean("xnli2", ["xnli", "pawsx"])
        "; did you mean 'xnli'?"
    """
    hint = nearest(name, known, cutoff=cutoff)
    return f"; did you mean '{hint}'?" if hint else ""
