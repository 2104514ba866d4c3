"""Warm re-run (every embedding cached) vs cold run of the same `xharness eval`, as whole commands.

all-MiniLM-L6-v2 (sentence-transformers folder) on four Tatoeba languages of LASER's test set.
Cold: an empty cache. Warm: the same command again; it looks every text up first and, finding
all of them, neither loads the model's weights nor imports torch. Target: warm >= 20x faster.

    python benchmarks/cache.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED_TATOEBA


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 pairs per language, one repeat")
    args = parser.parse_args()
    from xharness.adapters.packaged import minilm_folder

    folder = minilm_folder()
    script = str(Path(sys.executable).with_name("xharness"))
    cold_times, warm_times = [], []
    for _ in range(1 if args.quick else 3):
        with tempfile.TemporaryDirectory(prefix="xh-cache-bench-") as tmp:
            env = {**os.environ, "XHARNESS_CACHE": tmp, "HF_HUB_OFFLINE": "1"}
            cmd = [script, "eval", str(folder), "-t", "tatoeba", "-l", "de", "-l", "fr", "-l", "es", "-l", "ru",
                   "--data-dir", str(SHARED_TATOEBA), "-o", str(Path(tmp) / "results"), "--overwrite"]
            if args.quick:
                cmd += ["--limit", "300"]
            cold_times.append(timed(cmd, env))
            warm_times.append(timed(cmd, env))
    cold, warm = statistics.median(cold_times), statistics.median(warm_times)
    print(f"xharness eval all-MiniLM-L6-v2 on 4 Tatoeba languages ({'300' if args.quick else 'all 1000'} pairs each), whole command:")
    print(f"  cold (empty cache)        {cold:7.2f} s")
    print(f"  warm (every text cached)  {warm:7.2f} s")
    ratio = cold / warm
    print(f"warm speed-up: {ratio:.1f}x   target >= 20x: {'met' if ratio >= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
