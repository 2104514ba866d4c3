"""What every adapter provides, and the helpers that make fingerprints.

An adapter turns sentences into vectors. The fingerprint names everything that decides
those vectors (model files, adapter kind, pooling, layer, max length, dtype), so two runs
with the same fingerprint have interchangeable embeddings. An adapter that can pool any hidden
layer, several from one forward pass, is also a `LayeredAdapter` (what `--layer all` needs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from xharness.hashing import digest, sha256_file

__all__ = ["Adapter", "check_embeddings", "digest", "folder_fingerprint"]


@runtime_checkable
class Adapter(Protocol):
    """Anything that embeds sentences.

    Attributes:
        name: a human name for tables ("all-MiniLM-L6-v2").
        kind: the adapter kind that produced it ("transformers", "sentence-transformers", a plugin name).
        fingerprint: hex digest; equal fingerprints mean interchangeable embeddings.
        options: JSON-serialisable settings that shaped the vectors (recorded in results).
    """

    name: str
    kind: str
    fingerprint: str
    options: Mapping[str, Any]

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed `texts`; returns float32 of shape (len(texts), dim)."""
        ...


@runtime_checkable
class LayeredAdapter(Adapter, Protocol):
    """An adapter that can pool any hidden layer, and several from one forward pass.

    Attributes:
        num_layers: transformer layers; hidden states run 0 (embeddings) .. num_layers.
    """

    num_layers: int

    def encode_layers(
        self, texts: Sequence[str], *, batch_size: int = 32, layers: Sequence[int] | None = None
    ) -> dict[int, np.ndarray]:
        """{layer as given: float32 (len(texts), dim)} from one pass; None is every layer."""
        ...

    def with_layer(self, layer: int) -> "LayeredAdapter":
        """The same loaded model at another layer, with its own fingerprint and options."""
        ...


# Files that never change the vectors: docs, git metadata, training leftovers.
_IGNORED_SUFFIXES = {".md", ".txt.lock", ".lock"}
_IGNORED_NAMES = {"README.md", ".gitattributes", "training_args.bin"}


def folder_fingerprint(folder: Path) -> str:
    """sha256 over the names and contents of every model file under `folder`.

    Content, not modification time: a copied checkpoint keeps its fingerprint, a
    retrained one in the same place does not.
    """
    folder = Path(folder)
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.name in _IGNORED_NAMES or path.suffix in _IGNORED_SUFFIXES:
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        entries.append((rel, sha256_file(path)))
    return digest({"files": entries})


def check_embeddings(vectors: np.ndarray, n_texts: int, *, who: str) -> np.ndarray:
    """Return `vectors` as float32 (n, d), or raise if the model gave something unusable."""
    from xharness.errors import XharnessError

    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[0] != n_texts:
        raise XharnessError(f"{who} returned embeddings of shape {arr.shape} for {n_texts} texts")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise XharnessError(f"{who} produced NaN or infinite values for {bad} of {n_texts} texts")
    return arr
