"""Load a model only when a text is missing from the cache.

After a model has been loaded once, its description (name, kind, fingerprint, options) is kept
under `$XHARNESS_CACHE/adapters/`, keyed by the checkpoint's file contents, the adapter kind
asked for, the options and the xharness version. A later run with the same key gets a
`LazyAdapter` that answers with that description and loads the weights (importing torch) only
if the embedding cache lacks a text: a fully cached re-run never loads the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xharness import __version__
from xharness.adapters.base import Adapter, digest, folder_fingerprint
from xharness.errors import XharnessError, warn
from xharness.fileio import atomic_write_json
from xharness.paths import cache_dir


def description_key(spec: str, *, adapter: str, options: Mapping[str, Any]) -> str | None:
    """A key for the model's description, or None where none can be made without loading (hub ids)."""
    path = Path(spec)
    if path.is_dir():
        source: dict[str, Any] = {"folder_files": folder_fingerprint(path)}
    elif "/" not in spec and "\\" not in spec:
        source = {"plugin": spec}
    else:
        return None
    return digest({**source, "adapter": adapter, "options": dict(options), "xharness": __version__})


def _store(key: str) -> Path:
    return cache_dir() / "adapters" / f"{key}.json"


def remember(key: str, adapter: Adapter) -> None:
    try:
        atomic_write_json(
            _store(key),
            {"name": adapter.name, "kind": adapter.kind, "fingerprint": adapter.fingerprint, "options": dict(adapter.options)},
        )
    except XharnessError as exc:  # only an optimisation: a later run loads the model again
        from xharness.cache import unwritable_key

        warn(f"cache: {exc}; continuing without caching (the numbers are the same)", once=unwritable_key(_store(key)))


def recall(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_store(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("name", "kind", "fingerprint")):
        return None
    if not isinstance(data.get("options"), dict):
        return None
    return data


class LazyAdapter:
    """An adapter that knows its description and loads the real one on the first `encode`."""

    def __init__(self, description: Mapping[str, Any], loader: Callable[[], Adapter]) -> None:
        self.name = description["name"]
        self.kind = description["kind"]
        self.fingerprint = description["fingerprint"]
        self.options = dict(description["options"])
        self._loader = loader
        self._real: Adapter | None = None

    @property
    def loaded(self) -> bool:
        return self._real is not None

    def real(self) -> Adapter:
        if self._real is None:
            real = self._loader()
            if real.fingerprint != self.fingerprint:
                # The kept description no longer matches what the files and options give: never
                # mix embeddings of two fingerprints; the caller must start again with the real one.
                raise RuntimeError(f"kept description of {self.name} is stale (fingerprint changed); clear {cache_dir() / 'adapters'}")
            self._real = real
        return self._real

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        return self.real().encode(texts, batch_size=batch_size)
