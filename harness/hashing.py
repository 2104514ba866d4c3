"""The one sha256 helper of the house: file contents, bytes and JSON mappings as hex digests.

Fingerprints of data, models, caches and resume keys are all built from these, so their
outputs must never change: a changed byte here invalidates every cache and example file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

_CHUNK = 1 << 22  # 4 MiB reads: a multi-gigabyte checkpoint is hashed without loading it whole


def sha256_bytes(data: bytes) -> str:
    """The sha256 hex digest of `data`.

    Example:
        >>> sha256_bytes(b"abc")[:16]
        'ba7816bf8f01cfea'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """The sha256 hex digest of a file's contents, read in chunks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def digest(payload: Mapping[str, Any]) -> str:
    """A stable sha256 hex digest of a JSON-serialisable mapping (sorted keys, compact separators).

    Example:
        >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
        True
    """
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return sha256_bytes(blob.encode("utf-8"))
