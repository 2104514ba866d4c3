"""Padding waste of batching: padded tokens / real tokens, length-sorted (ours) vs file order.

Tokenised with the real all-MiniLM-L6-v2 tokenizer on 8,000 Tatoeba lines; a batch is padded
to its longest sentence (dynamic padding) in both cases, so the difference is the sorting.

    python benchmarks/padding.py [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from _common import tatoeba_sentences


def waste(lengths: np.ndarray, batch_size: int) -> float:
    """(padded - real) / real tokens when consecutive rows form batches padded to their maximum."""
    padded = 0
    for start in range(0, lengths.size, batch_size):
        batch = lengths[start:start + batch_size]
        padded += int(batch.max()) * batch.size
    real = int(lengths.sum())
    return (padded - real) / real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    from transformers import AutoTokenizer

    from xharness.adapters.packaged import minilm_folder

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_folder()))
    texts = tatoeba_sentences()
    lengths = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=256)["input_ids"]])
    unsorted = waste(lengths, args.batch_size)
    rng = np.random.default_rng(0)
    shuffled = waste(rng.permutation(lengths), args.batch_size)
    ours = waste(np.sort(lengths)[::-1], args.batch_size)
    print(f"{lengths.size} sentences, {lengths.sum()} real tokens, batch size {args.batch_size}")
    print(f"  padding waste, file order      : {unsorted:6.1%} of real tokens")
    print(f"  padding waste, shuffled        : {shuffled:6.1%}")
    print(f"  padding waste, length-sorted   : {ours:6.1%}   (xharness)")
    print(f"  ratio sorted / file order      : {ours / unsorted:.3f}")


if __name__ == "__main__":
    main()
