"""Load a model only when a text is missing from the cache.

After a model has been loaded once, its description (kind, fingerprint, options) is kept under
`$XHARNESS_CACHE/adapters/`, keyed by the checkpoint's path and file contents together, the
adapter kind asked for, the options and the xharness version. A later run with the same key
gets a `LazyAdapter` that answers with that description and loads the weights (importing torch)
only if the embedding cache lacks a text: a fully cached re-run never loads the model. The name
is this invocation's (the folder's name), never the kept one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from xharness import __version__
from xharness.adapters.base import Adapter, digest, folder_fingerprint
from xharness.adapters.options import AdapterOptions
from xharness.errors import XharnessError, warn
from xharness.fileio import atomic_write_json
from xharness.paths import cache_dir


def description_key(spec: str, *, adapter: str, options: AdapterOptions) -> str | None:
    """A key for the model's description, or None where none can be made without loading (hub ids).

    A folder is keyed by where it is and what it holds together: a copy elsewhere is described
    afresh (its name is its own), and an edited checkpoint in the same place is too.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        source: dict[str, Any] = {"folder": str(path.resolve()), "folder_files": folder_fingerprint(path)}
    elif "/" not in spec and "\\" not in spec:
        source = {"plugin": spec}
    else:
        return None
    return digest({**source, "adapter": adapter, "options": options.given(), "xharness": __version__})


def invocation_name(spec: str) -> str:
    """The name this invocation gives the model: a folder's own name, else the plugin's name as given."""
    path = Path(spec).expanduser()
    return path.resolve().name if path.is_dir() else spec


def _store(key: str) -> Path:
    return cache_dir() / "adapters" / f"{key}.json"


def forget(key: str) -> None:
    try:
        _store(key).unlink()
    except OSError:
        pass


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
    """An adapter that knows its description and loads the real one on the first `encode`.

    Args:
        description: what `recall` returned (kind, fingerprint, options).
        loader: loads the real adapter.
        name: this invocation's name for the model (see `invocation_name`).
        key: the description's key, so a stale one can be dropped.
    """

    def __init__(self, description: Mapping[str, Any], loader: Callable[[], Adapter], *, name: str, key: str | None = None) -> None:
        self.name = name
        self.kind = description["kind"]
        self.fingerprint = description["fingerprint"]
        self.options = dict(description["options"])
        self._loader = loader
        self._key = key
        self._real: Adapter | None = None
        self.load_seconds = 0.0  # time spent loading the real adapter (inside the first encode)

    @property
    def loaded(self) -> bool:
        return self._real is not None

    def real(self) -> Adapter:
        if self._real is None:
            started = time.perf_counter()
            real = self._loader()
            self.load_seconds += time.perf_counter() - started
            if real.fingerprint != self.fingerprint:
                # The kept description no longer matches what the files and options give (the
                # files changed during the run). Cached vectors and finished languages were
                # already looked up under the old fingerprint, so never mix the two: drop the
                # description and let the user run again, which describes the model afresh.
                if self._key is not None:
                    forget(self._key)
                raise XharnessError(
                    f"the checkpoint {self.name} changed while this run used its kept description "
                    f"(fingerprint {self.fingerprint[:12]} is now {real.fingerprint[:12]}); run the command again"
                )
            self._real = real
        return self._real

    @property
    def truncated(self) -> int | None:
        """Texts cut at max length: 0 while nothing is loaded (nothing was encoded), then the real
        adapter's count (None where it does not count)."""
        return 0 if self._real is None else getattr(self._real, "truncated", None)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        return self.real().encode(texts, batch_size=batch_size)
