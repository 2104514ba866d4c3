"""A colour-blind-safe sequential scale for the leaderboard's heatmap cells (viridis-like, dark blue to yellow).

Five anchor colours in perceptual order, linearly interpolated in RGB; a value is placed on
the scale by the range of its own table (lowest score = dark, highest = yellow), so a table of
scores between 10 and 30 still shows its differences. Text on a cell is white or black by the
cell's luminance.
"""

from __future__ import annotations

# Dark blue, blue, teal, green, yellow: monotone in lightness, distinguishable without red-green vision.
ANCHORS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def colour(t: float) -> tuple[int, int, int]:
    """The scale's colour at `t` in [0, 1] (clamped).

    Example:
        >>> colour(0.0), colour(1.0)
        ((68, 1, 84), (253, 231, 37))
    """
    t = min(max(t, 0.0), 1.0) * (len(ANCHORS) - 1)
    i = min(int(t), len(ANCHORS) - 2)
    f = t - i
    a, b = ANCHORS[i], ANCHORS[i + 1]
    return tuple(round(x + (y - x) * f) for x, y in zip(a, b))  # type: ignore[return-value]


def text_colour(rgb: tuple[int, int, int]) -> str:
    """Black on light cells, white on dark ones (relative luminance, sRGB weights without gamma)."""
    r, g, b = rgb
    return "#000" if (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 > 0.45 else "#fff"


def cell_style(value: float | None, low: float, high: float) -> str:
    """Inline style of a cell holding `value` in a table whose scores span [low, high] ('' for no value)."""
    if value is None:
        return ""
    t = 0.5 if high <= low else (value - low) / (high - low)
    rgb = colour(t)
    return f"background:rgb{rgb};color:{text_colour(rgb)}".replace(" ", "")


def gradient_css() -> str:
    """A CSS linear-gradient through the anchors, for the legend."""
    stops = ", ".join(f"rgb{a}".replace(" ", "") for a in ANCHORS)
    return f"linear-gradient(to right, {stops})"
