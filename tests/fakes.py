"""Deterministic stand-ins for models, for testing task logic without torch."""

from __future__ import annotations

import hashlib
from typing import Mapping, Sequence

import numpy as np


class LookupAdapter:
    """Returns the vector given for each text; fails loudly on a text it was not given."""

    kind = "fake"

    def __init__(self, vectors: Mapping[str, Sequence[float]], *, name: str = "lookup") -> None:
        self.vectors = {text: np.asarray(v, dtype=np.float32) for text, v in vectors.items()}
        self.name = name
        self.fingerprint = hashlib.sha256(repr(sorted(self.vectors)).encode()).hexdigest()
        self.options = {}
        self.calls = 0

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        self.calls += 1
        return np.stack([self.vectors[t] for t in texts])


class CharNgramAdapter:
    """Hashed character-trigram counts: identical texts map to identical vectors, similar to similar."""

    kind = "fake"

    def __init__(self, dim: int = 256, *, name: str = "char-ngrams") -> None:
        self.dim = dim
        self.name = name
        self.fingerprint = f"char-ngrams-{dim}"
        self.options = {"dim": dim}

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()}  "
            for i in range(len(padded) - 2):
                bucket = int.from_bytes(hashlib.md5(padded[i:i + 3].encode()).digest()[:4], "little") % self.dim
                out[row, bucket] += 1.0
        return out


class CountingAdapter(CharNgramAdapter):
    """Character n-grams that record what they encode, can die (Ctrl-C) on a chosen text, and can pose as another model."""

    def __init__(self, fail_on=None, fingerprint=None):
        super().__init__(64)
        self.encoded = []
        self.fail_on = fail_on
        if fingerprint:
            self.fingerprint = fingerprint

    def encode(self, texts, *, batch_size=32):
        if self.fail_on is not None and self.fail_on in texts:
            raise KeyboardInterrupt
        self.encoded.extend(texts)
        return super().encode(texts, batch_size=batch_size)
