"""Encoding throughput split over processes: 2 CPU ranks under torchrun vs 1 process, same threads in total.

The model is the real all-MiniLM-L6-v2 (the demo's English model) through the transformers
adapter; the sentences are Tatoeba lines (see _common.py). Both sides use 2 threads in total
(one process x 2 threads; two ranks x 1 thread, gloo), and both go through the Embedder, the
path `xharness eval` takes; only the encoding call is timed (after a warm-up call), so torch's
import and the model load, paid once per process, are reported apart. Expect about 1.0x on
CPU; beyond 10% overhead is a finding.

    python benchmarks/distributed.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve()


def worker(per_language: int, batch_size: int) -> None:
    """One process of a run (alone, or one rank under torchrun): time one Embedder call over every sentence."""
    started = time.perf_counter()
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    sys.path.insert(0, str(HERE.parent))
    from _common import tatoeba_sentences

    from xharness.adapters import AdapterOptions, load_adapter
    from xharness.adapters.packaged import minilm_folder
    from xharness.distributed import is_main
    from xharness.embedding import Embedder

    adapter = load_adapter(str(minilm_folder()), adapter="transformers", options=AdapterOptions(device="cpu"))
    texts = tatoeba_sentences(per_language=per_language)
    embed = Embedder(adapter, batch_size=batch_size)
    embed([f"warm-up sentence number {i}" for i in range(16)])  # starts the process group; ranks leave together
    ready = time.perf_counter()
    vectors = embed(texts)
    seconds = time.perf_counter() - ready
    if is_main():
        print(json.dumps({"encode_s": seconds, "startup_s": ready - started, "texts": len(texts), "sum": float(vectors.sum())}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(launcher: list[str], threads: int, args) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS=str(threads), CUDA_VISIBLE_DEVICES="")
    command = [*launcher, str(HERE), "--worker", "--per-language", str(args.per_language), "--batch-size", str(args.batch_size)]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["wall_s"] = time.perf_counter() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sentences and one repeat")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--per-language", type=int, default=500, help="lines per side of each Tatoeba pair (8 sides)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        worker(args.per_language, args.batch_size)
        return
    if args.quick:
        args.per_language, args.repeats = 250, 1
    one = [sys.executable]
    two = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port())]
    runs: dict[str, list[dict]] = {"1 process x 2 threads": [], "2 ranks x 1 thread (gloo)": []}
    for repeat in range(args.repeats):  # alternate, so machine noise hits both alike
        for name, launcher, threads in (("1 process x 2 threads", one, 2), ("2 ranks x 1 thread (gloo)", two, 1)):
            report = _run(launcher, threads, args)
            runs[name].append(report)
            print(f"  run {repeat + 1} {name:28s} encode {report['encode_s']:7.2f} s", flush=True)
    texts = runs["1 process x 2 threads"][0]["texts"]
    print(f"encoding {texts} Tatoeba sentences with all-MiniLM-L6-v2 on CPU, batch size {args.batch_size}, "
          f"median of {args.repeats} (same vectors: sums {runs['1 process x 2 threads'][0]['sum']:.4f} / {runs['2 ranks x 1 thread (gloo)'][0]['sum']:.4f})")
    medians = {}
    for name, reports in runs.items():
        encode = sorted(r["encode_s"] for r in reports)[len(reports) // 2]
        wall = sorted(r["wall_s"] for r in reports)[len(reports) // 2]
        startup = sorted(r["startup_s"] for r in reports)[len(reports) // 2]
        medians[name] = encode
        print(f"  {name:28s} encode {encode:7.2f} s  {texts / encode:8.1f} sentences/s   (startup {startup:5.1f} s, whole run {wall:5.1f} s)")
    ratio = medians["1 process x 2 threads"] / medians["2 ranks x 1 thread (gloo)"]
    verdict = "within 10%" if ratio >= 0.9 else "overhead beyond 10%: a finding"
    print(f"throughput ratio (2 ranks / 1 process): {ratio:.2f}x   ({verdict})")


if __name__ == "__main__":
    main()
