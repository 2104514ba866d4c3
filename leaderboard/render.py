"""Output formats of the leaderboard and writing them: one file per format, written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from xharness.fileio import atomic_write_text
from xharness.leaderboard.render_data import render_csv, render_json
from xharness.leaderboard.render_html import render_html
from xharness.leaderboard.render_md import render_markdown
from xharness.leaderboard.tables import Leaderboard

FORMATS: dict[str, tuple[str, Callable[[Leaderboard], str]]] = {
    "md": ("leaderboard.md", render_markdown),
    "html": ("leaderboard.html", render_html),
    "csv": ("leaderboard.csv", render_csv),
    "json": ("leaderboard.json", render_json),
}


def render(board: Leaderboard, fmt: str) -> str:
    return FORMATS[fmt][1](board)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_leaderboard(board: Leaderboard, out_dir: Path, formats: Iterable[str]) -> list[Path]:
    """Write `leaderboard.<ext>` for each format into `out_dir`; returns the paths in format order."""
    paths = []
    for fmt in dict.fromkeys(formats):
        filename, renderer = FORMATS[fmt]
        path = Path(out_dir) / filename
        atomic_write_text(path, renderer(board))
        path.chmod(0o666 & ~_umask())  # published pages: readable like any other file, not 0600
        paths.append(path)
    return paths
