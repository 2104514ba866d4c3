"""Cached demo builds: a folder made once from an installed package, swapped in whole, checked by its manifest.

A build is valid when its `MANIFEST.json` matches what the caller expects (source version,
rules, parameters) and every file it lists still has its recorded sha256. Anything else is
rebuilt in a hidden sibling folder and renamed into place, so no reader ever sees half a build.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from xharness.errors import XharnessError
from xharness.hashing import sha256_bytes, sha256_file
from xharness.paths import cache_dir

MANIFEST_NAME = "MANIFEST.json"


def build_fingerprint(base: str, params: Any, *, default: bool) -> str:
    """`base` for a build with the default parameters, else `base;params=<12 hex of their JSON>`.

    Example:
        >>> build_fingerprint("django==5.2;demo-rules=1", [5, 30], default=True)
        'django==5.2;demo-rules=1'
    """
    if default:
        return base
    return f"{base};params={sha256_bytes(json.dumps(params).encode())[:12]}"


def manifest_header(
    kind: str, package: str, version: str, *, rules_version: int, fingerprint: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """What a build's manifest must hold to be reused: its kind, source, rules, fingerprint and parameters."""
    return {
        "format": kind,
        "source": {"package": package, "version": version, "license": "BSD-3-Clause"},
        "rules_version": rules_version,
        "fingerprint": fingerprint,
        **params,
    }


def build_dir(name: str, fingerprint: str) -> Path:
    """`cache_dir()/demo/<name>`, suffixed with the parameter hash when the build is not the default one.

    Other parameters get their own folder rather than evicting the default build.
    """
    _, _, params = fingerprint.partition(";params=")
    return cache_dir() / "demo" / (f"{name}-{params}" if params else name)


def read_valid_manifest(folder: Path, expected: Mapping[str, Any]) -> dict[str, Any] | None:
    """The folder's manifest if it describes a complete build made with `expected`, else None."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or any(manifest.get(k) != v for k, v in expected.items()):
        return None
    languages = manifest.get("languages")
    if not isinstance(languages, dict) or not languages:
        return None
    try:
        for entry in languages.values():
            for name, digest in entry["sha256"].items():
                if sha256_file(Path(folder) / name) != digest:
                    return None
    except (OSError, KeyError, TypeError, AttributeError):
        return None
    return manifest


def _move_into_place(built: Path, out: Path, expected: Mapping[str, Any]) -> Path:
    """Rename the finished build to `out`, setting aside (then deleting) an invalid old one."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "build")
    try:
        os.rename(built, out)
    except OSError:
        # Another process finished first; its build is as good as ours if it is valid.
        if read_valid_manifest(out, expected) is None:
            raise
        shutil.rmtree(built, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def build_once(out: Path, expected: dict, *, looks_like: Callable[[Path], bool], write: Callable[[Path], None], what: str) -> Path:
    """Return `out` if it holds a valid build for `expected`; else build into a hidden sibling and swap it in.

    A folder holding anything but demo files (per `looks_like`) is never replaced.
    """
    if read_valid_manifest(out, expected) is not None:
        return out
    if out.exists() and not (out.is_dir() and looks_like(out)):
        raise XharnessError(f"refusing to build {what} into {out}: it holds files that are not demo data")
    out.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        write(built)
        return _move_into_place(built, out, expected)
    finally:
        if built.exists():
            shutil.rmtree(built, ignore_errors=True)
