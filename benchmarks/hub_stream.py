"""An XNLI-sized English train read from a hub-layout parquet folder: map-style (prepared Arrow copy) vs streamed.

400,000 made-up (premise, hypothesis, label) rows in `facebook/xnli`'s schema (config `en`, split `train`,
ClassLabel labels) in one parquet file, read through `HubDataset` as the classification reader does
(batches of the needed columns). Each reading runs in a fresh process with a fresh datasets cache:

- scan: every row of the three columns, nothing kept (what a reader pays on top of what it keeps);
- examples: `Xnli`'s English train examples (the probe's input, all kept in memory);
- first 1,000: the first 1,000 rows only (what `--limit` asks of a test split).

Map-style's first read prepares the Arrow copy (its time and disk are counted); its second read is the
copy, memory-mapped. Printed: wall time, peak RSS (and above the process after `import datasets, torch`:
an eval imports torch anyway, and `datasets` imports it for every `IterableDataset`), disk.

    python benchmarks/hub_stream.py [--rows 400000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import mb, peak_rss, run_child

WORDS = ("river lamp stone cloud apple field window bridge candle garden morning winter letter station market "
         "teacher doctor village mountain kitchen painter harbour forest engine library evening summer bottle").split()
NLI = ["entailment", "neutral", "contradiction"]


def build(root: Path, rows: int, *, row_group: int | None) -> Path:
    """`root/facebook/xnli` in hub layout: config `en` with a large train split and a small test.

    `row_group`: rows per parquet row group (None: `Dataset.to_parquet`'s default, one group for the file).
    """
    import datasets
    import numpy as np

    rng = np.random.default_rng(0)
    words = np.array(WORDS)

    def sentences(n: int, length: int, tag: str) -> list[str]:
        picks = words[rng.integers(0, len(words), size=(n, length))]
        return [f"{tag} {i} " + " ".join(row) for i, row in enumerate(picks.tolist())]

    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=NLI)})
    folder = root / "facebook" / "xnli"
    for split, n in (("train", rows), ("test", 100)):
        target = folder / "en" / f"{split}-00000-of-00001.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        table = {"premise": sentences(n, 18, "premise"), "hypothesis": sentences(n, 8, "hypothesis"),
                 "label": rng.integers(0, 3, size=n).tolist()}
        data = datasets.Dataset.from_dict(table, features=features)
        data.to_parquet(str(target), **({"batch_size": row_group} if row_group else {}))
    card = ["---", "configs:", "- config_name: en", "  data_files:",
            "  - split: train", "    path: en/train-*", "  - split: test", "    path: en/test-*", "---", ""]
    (folder / "README.md").write_text("\n".join(card), encoding="utf-8")
    return folder


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def child(folder: str, cache: str, mode: str, what: str) -> None:
    os.environ["HF_DATASETS_CACHE"] = cache  # read by `datasets` once, on import
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets  # noqa: F401 - the baseline counts the library itself
    import torch  # noqa: F401 - an eval imports it anyway; `datasets` imports it for every IterableDataset


    from xharness.hub_data import HubDataset
    from xharness.hub_reference import parse_reference

    base = peak_rss()
    start = time.perf_counter()
    if what == "examples":
        from xharness.tasks.classification import Xnli

        task = Xnli(f"hf:{folder}")
        task.hub.set_stream(mode == "stream")
        n = len(task.data.examples("train", "en"))
    else:
        hub = HubDataset(parse_reference(f"hf:{folder}"), stream=(mode == "stream"))
        limit = 1000 if what == "first" else None
        n = sum(len(b["label"]) for b in hub.rows("en", "train", ("premise", "hypothesis", "label"), limit=limit))
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": n, "seconds": seconds, "peak": peak_rss(), "base": base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory(prefix="xh-hub-stream-") as tmp:
        for row_group in (None, 10_000):
            folder = build(Path(tmp) / f"hub-{row_group}", args.rows, row_group=row_group)
            groups = "one row group" if row_group is None else f"row groups of {row_group:,} rows"
            print(f"\n{args.rows:,} made-up English NLI pairs in facebook/xnli's schema: one parquet file of "
                  f"{mb(disk_bytes(folder))}, {groups}")
            table(Path(tmp) / f"run-{row_group}", folder)


def table(tmp: Path, folder: Path) -> None:
    print(f"{'reading':<11}{'mode':<22}{'rows':>9}{'time':>9}{'peak RSS':>11}{'above import':>14}{'disk copy':>11}")
    for what in ("scan", "examples", "first"):
        got = {}
        for mode in ("map", "stream"):
            cache = tmp / f"cache-{what}-{mode}"
            runs = [("map" if mode == "map" else "stream", "first read" if mode == "map" else "streamed")]
            if mode == "map":
                runs.append(("map", "copy exists"))
            for run_mode, label in runs:
                r = run_child(__file__, folder, cache, run_mode, what)
                copy = disk_bytes(cache / "xharness-folders")
                got[label] = r
                print(f"{what:<11}{'map-style, ' + label if run_mode == 'map' else 'streamed':<22}{r['rows']:>9,}"
                      f"{r['seconds']:>8.2f}s{mb(r['peak']):>11}{mb(r['peak'] - r['base']):>14}{mb(copy):>11}")
        first, streamed = got["first read"], got["streamed"]
        print(f"{'':<11}streamed / map first read: time {streamed['seconds'] / first['seconds']:.2f}x, "
              f"peak RSS {streamed['peak'] / first['peak']:.2f}x, above import "
              f"{(streamed['peak'] - streamed['base']) / max(1, first['peak'] - first['base']):.2f}x; "
              f"vs copy exists: time {streamed['seconds'] / got['copy exists']['seconds']:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
