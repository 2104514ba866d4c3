"""How every output writes a value: the number formats and text escaping all renderers share.

Scores and deltas are main-score points with two decimals; a missing value is an en dash.
Strings from result files and names files pass through `md_text` (Markdown), `esc` (HTML) or
`plain` (a terminal line, a figure label) before they reach an output.
"""

from __future__ import annotations

import html

DASH = "–"
_MD_SPECIAL = "\\`*_[]#|!~"


def format_score(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def format_delta(value: float | None) -> str:
    return DASH if value is None else f"{value:+.2f}"


def format_interval(row) -> str:
    """`[low, high]` of anything with `low` and `high` (a comparison row, a report cell)."""
    if row.low is None or row.high is None:
        return DASH
    return f"[{row.low:+.2f}, {row.high:+.2f}]"


def format_p(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def reported(value: float) -> str:
    """A reported number as papers print them (83.7, 95.0): no decimals invented beyond the one given."""
    return str(float(value))


def md_text(value: object) -> str:
    """Inline Markdown-safe text: HTML entities for & < >, backslash escapes for Markdown syntax, one line."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def esc(value: object) -> str:
    """Text or attribute-safe HTML (quotes included)."""
    return html.escape(str(value), quote=True)


def plain(value: object) -> str:
    """One printable line: control characters (escape sequences included) become '?'."""
    return "".join(ch if ch.isprintable() else "?" for ch in " ".join(str(value).split()))


def filters_sentence(tasks, languages, *, quote) -> str:
    """'Filtered to tasks a, b; languages de.' with each name passed through `quote` ('' when nothing is filtered).

    >>> filters_sentence(("tatoeba",), ("de", "fr"), quote=str)
    'Filtered to tasks tatoeba; languages de, fr.'
    """
    filters = [f"{what} " + ", ".join(quote(name) for name in names) for what, names in (("tasks", tasks), ("languages", languages)) if names]
    return f"Filtered to {'; '.join(filters)}." if filters else ""
