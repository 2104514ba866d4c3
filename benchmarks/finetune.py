"""`xharness eval --finetune` against a plain `Trainer` script: same model, data and hyperparameters.

The real all-MiniLM-L6-v2 (its transformers files) on Tatoeba sentences labelled by length
(long/short: learnability does not matter for cost): English train and dev, four test
languages. Each side runs in its own process (peak memory is the process's max RSS), in turn,
`--repeats` times; the medians are printed side by side with their ratios.

    python benchmarks/finetune.py [--train 512] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import LANGUAGES, SHARED_TATOEBA

HYPER = dict(lr=2e-5, epochs=1, batch_size=8, grad_accum=4, max_length=128, eval_every=8)


def _lines(code: str, side: str, n: int) -> list[str]:
    path = SHARED_TATOEBA / f"tatoeba.{code}-eng.{side}"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()[:n] if line.strip()]


def write_data(folder: Path, n_train: int) -> None:
    english = _lines("deu", "eng", n_train + 64)
    cut = statistics.median(len(t) for t in english)

    def write(name: str, texts: list[str]) -> None:
        rows = "".join(f"{t}\t{'long' if len(t) > cut else 'short'}\n" for t in texts)
        (folder / name).write_text("text\tlabel\n" + rows, encoding="utf-8")

    write("train-en.tsv", english[:n_train])
    write("dev-en.tsv", english[n_train:])
    for code in LANGUAGES:
        write(f"test-{code}.tsv", _lines(code, code, 256))


def run_xharness(model: Path, data: Path, out: Path) -> None:
    from xharness.adapters.options import AdapterOptions
    from xharness.runner import EvalRequest, RunOptions, run_eval

    options = {"finetune": True, "seeds": 1, **{f"ft_{k}": v for k, v in HYPER.items()}}
    run_eval(EvalRequest(
        model=str(model), tasks=("classify",), data_dir=data, languages=("all",), adapter_options=AdapterOptions(device="cpu"),
        task_options=options, run=RunOptions(out_dir=out, cache=False, overwrite=True),
    ))


def run_plain(model: Path, data: Path, out: Path) -> None:
    """What a user would write by hand with the same settings."""
    import csv

    import numpy as np
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

    def read(name):
        with open(data / name, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        return [r["text"] for r in rows], [r["label"] for r in rows]

    tok = AutoTokenizer.from_pretrained(str(model))
    labels = ["long", "short"]

    def dataset(name):
        texts, gold = read(name)
        enc = tok(texts, truncation=True, max_length=HYPER["max_length"])
        return [{**{k: v[i] for k, v in enc.items()}, "labels": labels.index(g)} for i, g in enumerate(gold)]

    set_seed(0)
    net = AutoModelForSequenceClassification.from_pretrained(str(model), num_labels=2)
    args = TrainingArguments(
        output_dir=str(out), learning_rate=HYPER["lr"], num_train_epochs=HYPER["epochs"],
        per_device_train_batch_size=HYPER["batch_size"], per_device_eval_batch_size=32,
        gradient_accumulation_steps=HYPER["grad_accum"], eval_strategy="steps", eval_steps=HYPER["eval_every"],
        save_strategy="steps", save_steps=HYPER["eval_every"], save_total_limit=1, load_best_model_at_end=True,
        metric_for_best_model="accuracy", report_to=[], disable_tqdm=True, use_cpu=True, seed=0,
    )
    metric = lambda p: {"accuracy": float((np.argmax(p.predictions, -1) == p.label_ids).mean())}  # noqa: E731
    trainer = Trainer(model=net, args=args, train_dataset=dataset("train-en.tsv"), eval_dataset=dataset("dev-en.tsv"),
                      data_collator=DataCollatorWithPadding(tok), compute_metrics=metric)
    trainer.train()
    for code in LANGUAGES:
        trainer.predict(dataset(f"test-{code}.tsv"))


def child(which: str, model: Path, data: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        (run_xharness if which == "xharness" else run_plain)(model, data, Path(out))
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["xharness", "plain"])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.model, args.data)
    from xharness.adapters.packaged import minilm_folder

    model = minilm_folder()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        write_data(data, args.train)
        runs: dict[str, list[dict]] = {"xharness": [], "plain": []}
        for _ in range(args.repeats):
            for which in runs:
                done = subprocess.run([sys.executable, __file__, "--child", which, "--model", str(model), "--data", str(data)],
                                      capture_output=True, text=True, check=True)
                runs[which].append(json.loads(done.stdout.strip().splitlines()[-1]))
    examples = args.train * HYPER["epochs"]
    print(f"{examples} training examples, {len(LANGUAGES)} x 256 test items, CPU, median of {args.repeats}")
    rows = {}
    for which, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        rows[which] = (examples / seconds, statistics.median(r["peak_mib"] for r in results))
        print(f"{which:9s} {rows[which][0]:8.1f} train examples/s (whole run)  peak RSS {rows[which][1]:7.0f} MiB")
    print(f"ratio     {rows['xharness'][0] / rows['plain'][0]:8.2f} x throughput          {rows['xharness'][1] / rows['plain'][1]:7.2f} x memory")


if __name__ == "__main__":
    main()
