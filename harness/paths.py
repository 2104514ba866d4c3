"""Where xharness keeps what it builds: the cache folder (extracted models, demo data, embeddings)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$XHARNESS_CACHE`, else `$XDG_CACHE_HOME/xharness`, else `~/.cache/xharness`."""
    explicit = os.environ.get("XHARNESS_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base).expanduser() / "xharness"
