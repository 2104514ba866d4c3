"""benchmarks/scale.py's core at tiny sizes: both methods return the brute-force top-k from the files it writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"


def _scale():
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_core_agrees_with_brute_force(tmp_path, monkeypatch):
    import xharness.tasks.topk as topk

    scale = _scale()
    monkeypatch.setattr(topk, "CANDIDATE_BLOCK", 128)  # several blocks, as at 1M
    monkeypatch.setattr(topk, "SEED_COLUMNS", 16)
    m, n, d = 1000, 40, 16
    scale.write_unit_vectors(tmp_path / "c.f32", m, 1, d=d)
    scale.write_unit_vectors(tmp_path / "q.f32", n, 2, d=d)
    queries = np.fromfile(tmp_path / "q.f32", dtype=np.float32).reshape(n, d)
    candidates = np.fromfile(tmp_path / "c.f32", dtype=np.float32).reshape(m, d)
    assert np.allclose(np.linalg.norm(candidates, axis=1), 1, atol=1e-5)
    S = queries.astype(np.float64) @ candidates.T.astype(np.float64)
    expected = np.argsort(-S, axis=1, kind="stable")[:, :10]
    found = {method: scale.search(method, queries, tmp_path / "c.f32", m) for method in ("blocked", "faiss")}
    for I in found.values():
        assert I.shape == (n, 10)
        assert (I == expected).all()
    assert scale.same_neighbours(queries, tmp_path / "c.f32", m, found["blocked"], found["faiss"]) == (0, 0)
    swapped = found["faiss"].copy()
    swapped[0, [0, 9]] = swapped[0, [9, 0]]  # a real difference is not a tie
    assert scale.same_neighbours(queries, tmp_path / "c.f32", m, found["blocked"], swapped) == (1, 1)
