"""A content-addressed embedding cache on disk: one folder per adapter fingerprint, numpy shards inside.

A text's key is the sha256 of its UTF-8 bytes, so any task or run that embeds the same
sentence with the same fingerprint reuses the vector. Each `put` writes one new shard (keys
and vectors in an `.npz`) plus a small `.json` beside it with the row count, dimension, dtype
and the shard's sha256, both written atomically; several processes may write at once because
no file is ever rewritten in place. On open every shard is checked against its description:
a corrupt or truncated shard is reported with a warning, deleted, and its texts recomputed.
The cache is only an optimisation: one that cannot be written (read-only, full, a file where
its folder should be) is warned about once, and the run goes on with vectors kept in memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xharness.errors import XharnessError, warn
from xharness.fileio import atomic_write_bytes, atomic_write_json, write_error
from xharness.paths import cache_dir

FORMAT = 1
_DIGEST_BYTES = 32


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """(n, 32) uint8: the sha256 of each text."""
    out = np.empty((len(texts), _DIGEST_BYTES), dtype=np.uint8)
    for i, text in enumerate(texts):
        out[i] = np.frombuffer(hashlib.sha256(text.encode("utf-8")).digest(), dtype=np.uint8)
    return out


def default_root() -> Path:
    return cache_dir() / "embeddings"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt_shards: int = 0


class EmbeddingCache:
    """Vectors of one fingerprint. `get` returns what is cached; `put` adds new vectors."""

    def __init__(self, fingerprint: str, *, root: Path | None = None, model: Mapping[str, Any] | None = None) -> None:
        if not fingerprint or any(c in fingerprint for c in "/\\."):
            raise ValueError(f"a cache fingerprint must be a plain token, got {fingerprint!r}")
        self.fingerprint = fingerprint
        self.folder = Path(root or default_root()) / fingerprint[:2] / fingerprint
        self.stats = CacheStats()
        self._index: dict[bytes, tuple[int, int]] = {}  # key -> (shard number, row)
        self._shards: list[np.ndarray] = []
        self._dim: int | None = None
        self._seen: set[str] = set()
        self.writable = True  # False after the first write that failed: warned once, then memory only
        self.model = dict(model) if model else None  # name and kind, kept in `model.json` for `cache info`
        self.refresh()

    def refresh(self) -> None:
        """Read shards written since the last look (by this or another process)."""
        try:
            metas = sorted(self.folder.glob("shard-*.json")) if self.folder.is_dir() else []
        except OSError as exc:  # an unreadable cache folder: nothing cached, nothing lost
            warn(f"embedding cache: cannot read {self.folder} ({exc.strerror or exc}); continuing without cached vectors")
            metas = []
        for meta_path in metas:
            name = meta_path.stem
            if name in self._seen:
                continue
            self._seen.add(name)
            loaded = self._read_shard(meta_path)
            if loaded is None:
                continue
            keys, vectors = loaded
            number = len(self._shards)
            self._shards.append(vectors)
            for row, key in enumerate(keys):
                self._index.setdefault(key.tobytes(), (number, row))

    def _read_shard(self, meta_path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        data_path = meta_path.with_suffix(".npz")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            blob = data_path.read_bytes()
            if hashlib.sha256(blob).hexdigest() != meta["sha256"]:
                raise ValueError("checksum mismatch")
            with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                keys, vectors = npz["keys"], npz["vectors"]
            n, dim = int(meta["n"]), int(meta["dim"])
            if keys.shape != (n, _DIGEST_BYTES) or vectors.shape != (n, dim) or vectors.dtype != np.float32:
                raise ValueError(f"shapes {keys.shape}/{vectors.shape} {vectors.dtype} do not match n={n}, dim={dim}")
            if self._dim is not None and dim != self._dim:
                raise ValueError(f"dimension {dim} differs from the cache's {self._dim}")
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            warn(f"embedding cache: dropping corrupt shard {data_path} ({exc}); its texts will be recomputed")
            self.stats.corrupt_shards += 1
            for path in (data_path, meta_path):
                try:
                    path.unlink()
                except OSError:
                    pass
            return None
        self._dim = dim
        return keys, vectors

    def __len__(self) -> int:
        return len(self._index)

    def get(self, texts: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray]:
        """(vectors with cached rows filled, boolean mask of the rows that were found)."""
        keys = text_keys(texts)
        found = np.zeros(len(texts), dtype=bool)
        if self._dim is None:
            self.stats.misses += len(texts)
            return None, found
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, key in enumerate(keys):
            where = self._index.get(key.tobytes())
            if where is not None:
                out[i] = self._shards[where[0]][where[1]]
                found[i] = True
        self.stats.hits += int(found.sum())
        self.stats.misses += int((~found).sum())
        return out, found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store new vectors as one shard (texts already cached are skipped)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"vectors of shape {vectors.shape} for {len(texts)} texts")
        keys = text_keys(texts)
        fresh, taken = [], set()
        for i, key in enumerate(keys):
            k = key.tobytes()
            if k not in self._index and k not in taken:
                taken.add(k)
                fresh.append(i)
        if not fresh:
            return
        keys, vectors = keys[fresh], vectors[fresh]
        buffer = io.BytesIO()
        np.savez(buffer, keys=keys, vectors=vectors)
        blob = buffer.getvalue()
        digest = hashlib.sha256(blob).hexdigest()
        name = f"shard-{digest[:24]}"
        if self.writable:
            self._write_shard(name, blob, {"format": FORMAT, "n": len(fresh), "dim": int(vectors.shape[1]), "dtype": "float32", "sha256": digest})
        self._seen.add(name)
        number = len(self._shards)
        self._shards.append(vectors)
        self._dim = int(vectors.shape[1])
        for row, key in enumerate(keys):
            self._index.setdefault(key.tobytes(), (number, row))


    def _write_shard(self, name: str, blob: bytes, meta: dict) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.folder / f"{name}.npz", blob)
            # The description goes last: a shard without one is invisible, never half-read.
            atomic_write_json(self.folder / f"{name}.json", meta)
            self._describe_model()
        except (OSError, XharnessError) as exc:
            self.writable = False
            problem = write_error(self.folder, exc) if isinstance(exc, OSError) else exc
            warn(f"embedding cache: {problem}; continuing without caching (the numbers are the same)", once=unwritable_key(self.folder))
            try:
                (self.folder / f"{name}.npz").unlink()  # no shard without its description
            except OSError:
                pass


    def _describe_model(self) -> None:
        """Add this run's model name to the folder's `model.json` (a fingerprint may have been cached under several names)."""
        if not self.model:
            return
        known = read_model_meta(self.folder) or {}
        names = list(known.get("names") or [])
        name = self.model.get("name")
        if name in names and known.get("kind") == self.model.get("kind"):
            return
        if isinstance(name, str) and name not in names:
            names.append(name)
        atomic_write_json(self.folder / MODEL_META, {"names": names, "kind": self.model.get("kind")})


MODEL_META = "model.json"


def read_model_meta(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(folder) / MODEL_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("names"), list) else None


def unwritable_key(path: Path) -> str:
    """One warning per cache root that cannot be written, whichever of its parts (embeddings, model descriptions) finds out first."""
    root = cache_dir()
    try:
        Path(path).relative_to(root)
    except ValueError:
        root = Path(path)
    return f"unwritable cache {root}"


def cache_summary(root: Path | None = None) -> list[dict]:
    """One entry per fingerprint folder: vectors, shards, bytes on disk."""
    root = Path(root or default_root())
    entries = []
    if not root.is_dir():
        return entries
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        metas = list(folder.glob("shard-*.json"))
        n = 0
        for meta in metas:
            try:
                n += int(json.loads(meta.read_text(encoding="utf-8"))["n"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        meta = read_model_meta(folder) or {}
        names = [x for x in meta.get("names", []) if isinstance(x, str)]
        entries.append({"fingerprint": folder.name, "models": names, "kind": meta.get("kind"), "vectors": n, "shards": len(metas), "bytes": size})
    return entries


def clear_cache(root: Path | None = None) -> int:
    """Delete every cached embedding under `root`; returns the number of fingerprint folders removed."""
    root = Path(root or default_root())
    if not root.exists():
        return 0
    if not root.is_dir():
        raise XharnessError(f"{root}: the cache path is not a folder")
    count = sum(1 for p in root.glob("*/*") if p.is_dir())
    shutil.rmtree(root)
    return count
