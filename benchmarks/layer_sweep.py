"""All-layer sweep vs a single-layer run of the same `xharness eval` (real model, real data, no cache).

all-MiniLM-L6-v2 read as a transformers encoder (7 hidden states: embeddings + 6 layers) on four
Tatoeba languages. The sweep scores every layer from one forward pass per sentence; target:
<= 1.3x the time of evaluating one layer.

    python benchmarks/layer_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import SHARED_TATOEBA, alternate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from xharness.adapters import AdapterOptions, load_adapter
    from xharness.adapters.packaged import minilm_folder
    from xharness.runner import EvalRequest, RunOptions, run_eval

    folder = minilm_folder()
    adapter = load_adapter(str(folder), adapter="transformers", options=AdapterOptions(device="cpu"))  # loaded once, outside the timing
    out = Path(tempfile.mkdtemp(prefix="xh-sweep-bench-"))
    base = dict(
        model=str(folder), adapter="transformers", data_dir=SHARED_TATOEBA, languages=("de", "fr", "es", "ru"),
        limit=300 if args.quick else None,
    )
    runs = {
        "single layer (-1)": lambda: run_eval(EvalRequest(**base, run=RunOptions(out_dir=out / "single", overwrite=True, cache=False)), adapter=adapter),
        f"sweep, all {adapter.num_layers + 1} layers": lambda: run_eval(EvalRequest(**base, layer_sweep="all", run=RunOptions(out_dir=out / "sweep", overwrite=True, cache=False)), adapter=adapter),
    }
    times = alternate(runs, repeats=1 if args.quick else 3)
    for name, seconds in times.items():
        print(f"  {name:24s} {seconds:7.2f} s")
    single, sweep = times.values()
    ratio = sweep / single
    print(f"sweep / single: {ratio:.2f}x for {adapter.num_layers + 1} layers   target <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
