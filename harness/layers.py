"""Layer sweeps: every requested hidden layer from one forward pass, scored as if run one by one.

`--layer all` (0 = embeddings .. L) or `--layer A:B` (inclusive, negative counts from the top)
turns one evaluation into one per layer. The model runs once per distinct text; every layer's
vectors go into that layer's own cache (its own fingerprint), so each per-layer score equals a
single run with `--layer k`, and a later single-layer run is a cache hit.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np

from xharness.cache import EmbeddingCache
from xharness.embedding import Embedder, EmbedStats, encode_in_blocks, refuse_zero_rows
from xharness.errors import XharnessError
from xharness.adapters.base import LayeredAdapter, check_embeddings

_RANGE = re.compile(r"^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*$")


def is_sweep(spec: str | int | None) -> bool:
    return isinstance(spec, str) and (spec.strip().lower() == "all" or ":" in spec)


def parse_layers(spec: str, num_layers: int) -> list[int]:
    """Absolute layer indices (0..num_layers) for 'all' or an inclusive 'A:B' range."""
    total = num_layers + 1
    if spec.strip().lower() == "all":
        return list(range(total))
    match = _RANGE.match(spec)
    if not match:
        raise XharnessError(f"--layer must be a number, 'all' or a range like 6:18, got '{spec}'")
    start = int(match.group(1)) if match.group(1) is not None else 0
    stop = int(match.group(2)) if match.group(2) is not None else num_layers
    start, stop = (value + total if value < 0 else value for value in (start, stop))
    if not (0 <= start <= stop <= num_layers):
        raise XharnessError(f"--layer {spec} is out of range: the model has layers 0..{num_layers}")
    return list(range(start, stop + 1))


class MemoryCache:
    """The in-memory stand-in for EmbeddingCache when --no-cache is set (kept for one run only)."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}

    def get(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        found = np.array([t in self._vectors for t in texts], dtype=bool)
        if not found.any():
            return None, found
        dim = next(iter(self._vectors.values())).shape[0]
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, text in enumerate(texts):
            if found[i]:
                out[i] = self._vectors[text]
        return out, found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors):
            self._vectors.setdefault(text, np.asarray(vector, dtype=np.float32))


class LayerSweep:
    """Per-layer `embed` callables that share one multi-layer forward pass on cache misses."""

    def __init__(
        self,
        adapter: Any,
        layers: Sequence[int],
        *,
        batch_size: int = 32,
        cache_root=None,
        use_disk_cache: bool = True,
        progress: Callable[[str, int], Any] | None = None,
    ) -> None:
        if not isinstance(adapter, LayeredAdapter):
            raise XharnessError(f"--layer sweeps need a transformers checkpoint; {adapter.name} ({adapter.kind}) has no layers to choose")
        self.adapter = adapter
        self.layers = list(layers)
        self.batch_size = batch_size
        self.progress = progress
        self.per_layer = {layer: adapter.with_layer(layer) for layer in self.layers}
        self.caches = {
            layer: EmbeddingCache(a.fingerprint, root=cache_root) if use_disk_cache else MemoryCache()
            for layer, a in self.per_layer.items()
        }
        self.stats = EmbedStats()

    def embed_for(self, layer: int, *, label: str = "") -> Callable[[Sequence[str]], np.ndarray]:
        """The `embed` of one layer: its own cache, misses encoded for every layer at once."""
        return _LayerEmbedder(self, layer, label)

    def _encode_all_layers(self, texts: list[str], label: str) -> dict[int, np.ndarray]:
        def encode_block(chunk: list[str]) -> dict[int, np.ndarray]:
            pooled = self.adapter.encode_layers(chunk, batch_size=self.batch_size, layers=self.layers)
            return {layer: check_embeddings(pooled[layer], len(chunk), who=self.adapter.name) for layer in self.layers}

        out = encode_in_blocks(
            texts, encode_block, batch_size=self.batch_size, progress=self.progress,
            label=f"{label} (layers {self.layers[0]}..{self.layers[-1]})",
        )
        self.stats.encoded += len(texts)
        for layer in self.layers:
            # Every layer is checked before any is cached or scored: a sweep that cannot finish stops now.
            refuse_zero_rows(out[layer], texts, who=self.adapter.name, where=f" at layer {layer}")
        return out


class _LayerEmbedder(Embedder):
    """One layer's view of a sweep: the embedder's lookup, with misses filled by the shared pass."""

    def __init__(self, sweep: LayerSweep, layer: int, label: str) -> None:
        super().__init__(sweep.adapter, batch_size=sweep.batch_size, cache=sweep.caches[layer], label=label, name=sweep.adapter.name)
        self.sweep, self.layer, self.stats = sweep, layer, sweep.stats
        self.where = f" at layer {layer}"

    def _fresh(self, missing: list[str]) -> np.ndarray:
        fresh = self.sweep._encode_all_layers(missing, self.label)
        for other, cache in self.sweep.caches.items():
            cache.put(missing, fresh[other])
        return fresh[self.layer]


def plot_layers(layer_scores: dict[int, dict[str, float]], *, title: str, path) -> None:
    """Main score against layer, one line per language and a bold mean, written as SVG or PNG.

    Every text is drawn literally: a model named `$x^2$` is not TeX, a control character is
    shown as its escape, and a glyph the font lacks is a box, not a warning.
    """
    import warnings

    import matplotlib

    from xharness.table import printable

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "xharness"  # stable ids: the same scores give the same file
    matplotlib.rcParams["text.usetex"] = False  # names are text, not TeX, whatever a matplotlibrc says
    import matplotlib.pyplot as plt

    layers = sorted(layer_scores)
    langs = sorted({lang for scores in layer_scores.values() for lang in scores})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for lang in langs:
        ax.plot(layers, [layer_scores[l].get(lang, np.nan) for l in layers], linewidth=1, alpha=0.6, label=printable(lang))
    means = [np.mean(list(layer_scores[l].values())) for l in layers]
    ax.plot(layers, means, color="black", linewidth=2.5, label="mean")
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("main score")
    ax.set_title(printable(title), parse_math=False)
    ax.grid(alpha=0.3)
    legend = ax.legend(fontsize=7, ncol=max(1, len(langs) // 12 + 1), loc="best")
    for text in legend.get_texts():
        text.set_parse_math(False)
    import io

    from xharness.fileio import atomic_write_bytes

    buffer = io.BytesIO()
    metadata = {"Date": None} if str(path).endswith(".svg") else {}
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
            fig.tight_layout()
            fig.savefig(buffer, format="svg" if str(path).endswith(".svg") else "png", metadata=metadata)
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
