"""Shared bits of the benchmarks: the real demo model, real Tatoeba sentences, a timer that alternates."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable

SHARED_TATOEBA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tatoeba" / "v1"
LANGUAGES = ("deu", "fra", "spa", "rus")


def tatoeba_sentences(languages=LANGUAGES, *, per_language: int = 1000) -> list[str]:
    """English and foreign sentences of a few Tatoeba pairs (what an eval over them encodes)."""
    if not SHARED_TATOEBA.is_dir():
        raise SystemExit(f"benchmark data not found: {SHARED_TATOEBA}")
    texts: list[str] = []
    for code in languages:
        for side in (code, "eng"):
            lines = (SHARED_TATOEBA / f"tatoeba.{code}-eng.{side}").read_text(encoding="utf-8").splitlines()
            texts.extend(line.strip() for line in lines[:per_language])
    return texts


def alternate(runs: dict[str, Callable[[], object]], *, repeats: int = 3) -> dict[str, float]:
    """Median seconds of each callable, run in turn (A B A B ...) so machine noise hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def status_bytes(field: str) -> int | None:
    """A `/proc/self/status` size field (`VmRSS`, `VmHWM`) in bytes; None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM, else getrusage)."""
    import resource

    return status_bytes("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_child(script: str, *args: object) -> dict:
    """Run `script --child ARGS...` in a fresh process and return the JSON object its last line prints."""
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, os.path.abspath(script), "--child", *map(str, args)], check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MB"


def write_unit_vectors(path: Path, n: int, seed: int, *, d: int) -> None:
    """n random unit vectors to a raw float32 file, made in chunks (no n x d array in memory)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, d))
    for start in range(0, n, 65536):
        block = rng.standard_normal((min(65536, n - start), d), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:start + len(block)] = block
    out.flush()
    del out
