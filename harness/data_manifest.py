"""What a result records of a built data folder's `MANIFEST.json` (the demo writes one): format, source, fingerprint.

It lets a table say what its data is ("demo (django 5.2 translation catalogues)") without the
data folder, and keeps runs on different builds apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST_NAME = "MANIFEST.json"


def manifest_summary(data: Any) -> dict[str, Any] | None:
    """The format, fingerprint and source (package, version) of a manifest mapping; None if malformed.

    Example:
        >>> manifest_summary({"format": "f", "fingerprint": "x", "source": {"package": "p", "version": "1", "license": "L"}})
        {'format': 'f', 'fingerprint': 'x', 'source': {'package': 'p', 'version': '1'}}
    """
    if not isinstance(data, dict) or not isinstance(data.get("format"), str) or not isinstance(data.get("fingerprint"), str):
        return None
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    return {
        "format": data["format"],
        "fingerprint": data["fingerprint"],
        "source": {k: source[k] for k in ("package", "version") if isinstance(source.get(k), str)},
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """`manifest_summary` of the folder's `MANIFEST.json`, or None when there is none (or it is unreadable)."""
    path = Path(folder) / MANIFEST_NAME
    try:
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest_summary(data)
