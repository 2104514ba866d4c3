"""Exact top-10 over millions of on-disk candidates: `topk.blocked_topk` over a memmap vs FAISS IndexFlatIP in memory.

Usage: python benchmarks/scale.py [--quick] [--candidates N ...] [--queries N] [--budget-gb G]

Writes random unit vectors (d=384, float32; 10k queries; 1M and 5M candidates, 100k with
--quick) to a temporary folder, the candidates as a raw float32 file, then runs each method
once in its own fresh process and prints, side by side: seconds, peak resident memory of the
process (VmHWM, imports included) and the same above the loaded queries, CPU seconds (user +
system: the machine is shared, and CPU time moves less with other agents' load than wall time), and whether both
give the same neighbours (ties aside: where the lists differ, the similarities, recomputed in
float64, agree within 1e-5 at every rank). FAISS's time counts reading the file, `add` and
`search` (it must hold every candidate in memory); ours counts the search over the memmap.

Above `--budget-gb` (default 2) of candidates the in-memory index is run under that memory
budget (RLIMIT_DATA: the private memory a process may allocate; a read-only memmap is not
counted) and is expected to be refused; ours runs under the same budget.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import mb, peak_rss, run_child, status_bytes, write_unit_vectors  # noqa: E402

D = 384
K = 10
TIE_TOLERANCE = 1e-5


def search(method: str, queries: np.ndarray, path: Path, m: int, *, k: int = K) -> np.ndarray:
    """Top-k candidate indices of each query: `blocked` over the file as a memmap, `faiss` in memory."""
    d = queries.shape[1]
    if method == "blocked":
        from xharness.tasks.topk import blocked_topk

        return blocked_topk(queries, np.memmap(path, dtype=np.float32, mode="r", shape=(m, d)), k=k)[1]
    import faiss

    candidates = np.fromfile(path, dtype=np.float32).reshape(m, d)
    index = faiss.IndexFlatIP(d)
    index.add(candidates)
    del candidates
    return index.search(queries, k)[1]


def same_neighbours(queries: np.ndarray, path: Path, m: int, a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(rows whose lists differ, rows that differ beyond ties): a tie is equal float64 similarity within 1e-5."""
    candidates = np.memmap(path, dtype=np.float32, mode="r", shape=(m, queries.shape[1]))
    differ = np.flatnonzero((a != b).any(axis=1))
    beyond = 0
    for row in differ:
        q = queries[row].astype(np.float64)
        sa = candidates[a[row]].astype(np.float64) @ q
        sb = candidates[b[row]].astype(np.float64) @ q
        beyond += int(np.abs(sa - sb).max() > TIE_TOLERANCE)
    return int(differ.size), beyond


def _reset_peak() -> int:
    """Reset this process's high-water mark to its current size (Linux); returns that size."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status_bytes("VmRSS") or 0
    except OSError:
        return status_bytes("VmHWM") or 0


def child(method: str, folder: Path, m: int, n: int, budget: int) -> None:
    import faiss  # noqa: F401  (imported before timing, by both methods)

    import xharness.tasks.topk  # noqa: F401

    queries = np.fromfile(folder / "queries.f32", dtype=np.float32).reshape(n, D)
    if budget:
        resource.setrlimit(resource.RLIMIT_DATA, (budget, budget))
    before = _reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        I = search(method, queries, folder / "candidates.f32", m)
    except MemoryError:
        print(json.dumps({"refused": f"MemoryError under a {mb(budget)} budget", "seconds": time.perf_counter() - start}))
        return
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = peak_rss()
    np.save(folder / f"{method}.npy", I)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak": peak, "above_queries": peak - before}))


def run(m: int, n: int, budget_gb: float, folder: Path) -> None:
    print(f"{m:,} candidates x {n:,} queries, d={D}, top {K}; candidate matrix {mb(m * D * 4)} on disk")
    t0 = time.perf_counter()
    write_unit_vectors(folder / "candidates.f32", m, 1, d=D)
    print(f"  written in {time.perf_counter() - t0:.0f} s")
    capped = m * D * 4 > budget_gb * 2**30
    budget = int(budget_gb * 2**30) if capped else 0
    results = {method: run_child(__file__, method, folder, m, n, budget) for method in ("blocked", "faiss")}
    b, f = results["blocked"], results["faiss"]
    if "refused" in b:
        raise SystemExit(f"blocked_topk was refused too: {b['refused']} (raise --budget-gb)")
    name = f"FAISS (cap {budget_gb:g} GB)" if capped else "FAISS IndexFlatIP"
    print(f"  {'':22}{'blocked_topk (memmap)':>24}{name:>22}{'ratio':>8}")
    if "refused" in f:
        print(f"  {'seconds':22}{b['seconds']:>24.1f}{'not run':>22}")
        print(f"  {'CPU seconds':22}{b['cpu_seconds']:>24.1f}{'':>22}")
        print(f"  {'peak RSS':22}{mb(b['peak']):>24}{'':>22}")
        print(f"  {'peak above queries':22}{mb(b['above_queries']):>24}{'':>22}")
        print(f"  in-memory index refused: {f['refused']}; ours ran under the same budget")
        return
    print(f"  {'seconds':22}{b['seconds']:>24.1f}{f['seconds']:>22.1f}{b['seconds'] / f['seconds']:>8.2f}")
    print(f"  {'CPU seconds':22}{b['cpu_seconds']:>24.1f}{f['cpu_seconds']:>22.1f}{b['cpu_seconds'] / f['cpu_seconds']:>8.2f}")
    print(f"  {'peak RSS':22}{mb(b['peak']):>24}{mb(f['peak']):>22}{b['peak'] / f['peak']:>8.2f}")
    print(f"  {'peak above queries':22}{mb(b['above_queries']):>24}{mb(f['above_queries']):>22}"
          f"{b['above_queries'] / f['above_queries']:>8.2f}")
    queries = np.fromfile(folder / "queries.f32", dtype=np.float32).reshape(n, D)
    differ, beyond = same_neighbours(queries, folder / "candidates.f32", m, np.load(folder / "blocked.npy"), np.load(folder / "faiss.npy"))
    print(f"  top-{K} lists: {n - differ:,} of {n:,} identical; {differ} differ, {beyond} beyond float ties")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k candidates only")
    parser.add_argument("--candidates", type=int, nargs="+")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--budget-gb", type=float, default=2.0, help="memory budget above which the in-memory index is capped")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, folder, m, n, budget = args.child
        child(method, Path(folder), int(m), int(n), int(budget))
        return
    sizes = args.candidates or ([100_000] if args.quick else [1_000_000, 5_000_000])
    with tempfile.TemporaryDirectory(prefix="xharness-bench-scale-") as tmp:
        folder = Path(tmp)
        write_unit_vectors(folder / "queries.f32", args.queries, 2, d=D)
        for m in sizes:
            run(m, args.queries, args.budget_gb, folder)


if __name__ == "__main__":
    main()
