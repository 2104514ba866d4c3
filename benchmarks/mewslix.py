"""Benchmark of Mewsli-X's retrieval (`topk.blocked_topk` over an on-disk memmap) against FAISS IndexFlatIP in memory.

Usage: python benchmarks/mewslix.py [--quick] [--candidates N] [--queries N]

Writes random unit vectors (1M candidates, d=384, 10k queries; 100k candidates with --quick)
to a temporary folder, the candidates as a raw float32 memmap, then runs each method once in
its own subprocess and prints, side by side: seconds (search only for blocked_topk, which
reads the memmap block by block; read + add + search for FAISS, which must hold every
candidate in memory), peak resident memory above the loaded queries (VmHWM after a reset),
the tracemalloc peak (numpy's allocations; FAISS's own are not traced), and the share of the
top-20 lists that agree. The machine is shared and noisy: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from _common import mb, peak_rss, run_child, status_bytes, write_unit_vectors

D = 384
K = 20


def child(method: str, folder: Path, m: int, n: int) -> None:
    import faiss

    from xharness.tasks.topk import blocked_topk

    queries = np.fromfile(folder / "queries.f32", dtype=np.float32).reshape(n, D)
    try:  # reset the high-water mark to the current size (Linux keeps the parent's otherwise)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status_bytes("VmRSS")
    except OSError:
        before = status_bytes("VmHWM")
    if before is None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    start = time.perf_counter()
    if method == "blocked":
        candidates = np.memmap(folder / "candidates.f32", dtype=np.float32, mode="r", shape=(m, D))
        _, I = blocked_topk(queries, candidates, k=K)
    else:
        candidates = np.fromfile(folder / "candidates.f32", dtype=np.float32).reshape(m, D)
        index = faiss.IndexFlatIP(D)
        index.add(candidates)
        del candidates
        _, I = index.search(queries, K)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    after = peak_rss()
    np.save(folder / f"{method}.npy", I)
    print(json.dumps({"seconds": seconds, "rss_delta": after - before, "traced_peak": traced}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k candidates instead of 1M")
    parser.add_argument("--candidates", type=int)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, folder, m, n = args.child
        child(method, Path(folder), int(m), int(n))
        return
    m = args.candidates or (100_000 if args.quick else 1_000_000)
    n = args.queries
    with tempfile.TemporaryDirectory(prefix="xharness-bench-mewslix-") as tmp:
        folder = Path(tmp)
        write_unit_vectors(folder / "candidates.f32", m, 1, d=D)
        write_unit_vectors(folder / "queries.f32", n, 2, d=D)
        print(f"{m:,} candidates x {n:,} queries, d={D}, top {K}; candidate matrix {mb(m * D * 4)} on disk")
        results = {method: run_child(__file__, method, folder, m, n) for method in ("blocked", "faiss")}
        agree = float((np.load(folder / "blocked.npy") == np.load(folder / "faiss.npy")).all(axis=1).mean())
    b, f = results["blocked"], results["faiss"]
    print(f"{'':24}{'blocked_topk (memmap)':>24}{'FAISS IndexFlatIP':>20}{'ratio':>8}")
    print(f"{'seconds':24}{b['seconds']:>24.1f}{f['seconds']:>20.1f}{b['seconds'] / f['seconds']:>8.2f}")
    print(f"{'peak RSS above queries':24}{mb(b['rss_delta']):>24}{mb(f['rss_delta']):>20}{b['rss_delta'] / f['rss_delta']:>8.2f}")
    print(f"{'tracemalloc peak':24}{mb(b['traced_peak']):>24}{mb(f['traced_peak']):>20}")
    print(f"identical top-{K} lists: {agree:.4f} of queries")


if __name__ == "__main__":
    main()
