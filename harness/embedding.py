"""The `embed(texts)` that tasks call: de-duplicated, cache-first, length-sorted blocks, checked vectors.

This is the one place where texts are de-duplicated for embedding: a caller passes its texts
as they are (repeats included) and gets one row per text back; each distinct text is looked
up or encoded once. Only texts the cache does not hold reach the model; they are encoded
longest first in blocks (so a progress bar can move and padding stays small) and the vectors
come back in the caller's order. NaN, infinite or all-zero vectors are refused with the model
named, never turned into a score.

Under a launcher (torchrun, accelerate launch; see `distributed`), the ranks first agree on
the texts any of them lacks, each encodes its length-balanced share, and every rank gets all
vectors back; only rank 0 writes them to the cache on disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from xharness.adapters.base import Adapter, check_embeddings
from xharness.cache import EmbeddingCache
from xharness.distributed import World, world as launched_world
from xharness.errors import XharnessError


@dataclass
class EmbedStats:
    texts: int = 0  # texts asked for, duplicates included
    cache_hits: int = 0  # distinct texts found in the cache
    encoded: int = 0  # distinct texts the model encoded

    def as_dict(self) -> dict[str, int]:
        return {"texts": self.texts, "cache_hits": self.cache_hits, "encoded": self.encoded}


def refuse_zero_rows(vectors: np.ndarray, texts: Sequence[str], *, who: str, where: str = "") -> None:
    """Raise XharnessError when any row is all zeros: no direction, so no cosine and no score."""
    zero = np.flatnonzero(~vectors.any(axis=1))
    if zero.size:
        raise XharnessError(
            f"{who} returned all-zero vectors{where} for {zero.size} sentences (first: {texts[int(zero[0])][:60]!r})"
        )


def distinct(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct texts in first-seen order, and for each text its row among them.

    Example:
        >>> unique, rows = distinct(["a", "b", "a"])
        >>> unique, rows.tolist()
        (['a', 'b'], [0, 1, 0])
    """
    position: dict[str, int] = {}
    rows = np.fromiter((position.setdefault(text, len(position)) for text in texts), dtype=np.int64, count=len(texts))
    return list(position), rows


def _block_size(batch_size: int) -> int:
    return max(batch_size * 16, 256)


class Embedder:
    """Callable `embed(texts) -> float32 (n, d)` around an adapter, with an optional cache.

    One row per text in `texts`, repeats included; each distinct text is embedded once.
    `adapter` may be a zero-argument callable returning the adapter, so a run whose texts are
    all cached never loads the model. `world` is the launcher's (default: from the environment;
    one process without a launcher).
    """

    where = ""  # said after the model's name when vectors are refused (a layer sweep names the layer)
    context = ""  # the language being evaluated, set by the task loop: progress reads `encoding <label> <context>`

    def __init__(
        self,
        adapter: Adapter | Callable[[], Adapter],
        *,
        batch_size: int = 32,
        cache: EmbeddingCache | None = None,
        progress: Callable[[str, int], Any] | None = None,
        search: Callable[[str, int], Any] | None = None,
        label: str = "",
        name: str = "model",
        world: World | None = None,
    ) -> None:
        self._adapter = adapter
        self.batch_size = batch_size
        self.cache = cache
        self.progress = progress
        self.search = search
        self.label = label
        self.name = name
        self.stats = EmbedStats()
        self.world = world or launched_world()
        if self.cache is not None and not self.world.is_main:
            self.cache.writable = False  # rank 0 writes the shards; the others keep vectors in memory

    def search_progress(self, total: int) -> Any:
        """A handle (`advance(n)`, `close()`) for a search of `total` queries in this phase; None when nobody listens."""
        return self.search(f"{self.label} {self.context}".strip(), total) if self.search is not None else None

    @property
    def adapter(self) -> Adapter:
        if callable(self._adapter) and not hasattr(self._adapter, "encode"):
            self._adapter = self._adapter()
        return self._adapter  # type: ignore[return-value]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            raise XharnessError("nothing to embed (no sentences)")
        self.stats.texts += len(texts)
        unique, rows = distinct(texts)
        vectors, found = (self.cache.get(unique) if self.cache is not None else (None, np.zeros(len(unique), bool)))
        lacking = ~found
        if self.world.distributed:  # every rank encodes, then holds, what any rank lacks: the calls stay in step
            from xharness.distributed import agree_missing

            lacking = agree_missing(unique, lacking)
        missing = [text for text, lack in zip(unique, lacking) if lack]
        self.stats.cache_hits += int((~lacking).sum())
        if missing:
            fresh = self._fresh(missing)
            if vectors is None:
                vectors = np.zeros((len(unique), fresh.shape[1]), dtype=np.float32)
            vectors[lacking] = fresh
        out = vectors[rows]
        refuse_zero_rows(out, texts, who=self.name, where=self.where)
        return out

    def _fresh(self, missing: list[str]) -> np.ndarray:
        """Vectors of texts the cache lacks: encoded, checked, then cached."""
        fresh = self._encode(missing)
        refuse_zero_rows(fresh, missing, who=self.name)  # before the cache: a broken model leaves nothing behind
        if self.cache is not None:
            self.cache.put(missing, fresh)
        return fresh

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.world.distributed:
            from xharness.distributed import gather_rows, shard

            share = shard([len(text) for text in texts], self.world.size)[self.world.rank]
            local = self._encode_here([texts[i] for i in share]) if len(share) else None  # an idle rank loads nothing
            vectors = gather_rows(share, local, len(texts))
        else:
            vectors = self._encode_here(texts)
        self.stats.encoded += len(texts)
        return vectors

    def _encode_here(self, texts: list[str]) -> np.ndarray:
        """This process's texts through the model, longest first in blocks."""
        adapter = self.adapter

        def encode_block(chunk: list[str]) -> dict[int, np.ndarray]:
            return {0: check_embeddings(adapter.encode(chunk, batch_size=self.batch_size), len(chunk), who=adapter.name)}

        label = f"{self.label} {self.context}".strip()
        return encode_in_blocks(texts, encode_block, batch_size=self.batch_size, progress=self.progress, label=label)[0]


def encode_in_blocks(
    texts: Sequence[str],
    encode_block: Callable[[list[str]], dict[Any, np.ndarray]],
    *,
    batch_size: int,
    progress: Callable[[str, int], Any] | None = None,
    label: str = "",
) -> dict[Any, np.ndarray]:
    """Encode `texts` longest first, in blocks (so a progress bar moves), vectors back in the callers' order.

    `encode_block(chunk)` returns {key: float32 (len(chunk), d)}, e.g. one key per layer; the
    result holds, per key, the vectors of every text in `texts` order.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    sorted_texts = [texts[i] for i in order]
    block = _block_size(batch_size)
    parts: dict[Any, list[np.ndarray]] = {}
    bar = progress(label, len(texts)) if progress else None
    try:
        for start in range(0, len(sorted_texts), block):
            chunk = sorted_texts[start:start + block]
            for key, vectors in encode_block(chunk).items():
                parts.setdefault(key, []).append(vectors)
            if bar is not None:
                bar.advance(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    positions = np.asarray(order)
    out = {}
    for key, chunks in parts.items():
        vectors = np.empty((len(texts), chunks[0].shape[1]), dtype=np.float32)
        vectors[positions] = np.concatenate(chunks)
        out[key] = vectors
    return out
