"""Encoding throughput: our transformers adapter vs SentenceTransformer.encode on the same checkpoint.

The checkpoint is the real all-MiniLM-L6-v2 (the demo's English model), read as a raw encoder
with mean pooling (`adapter="transformers"`), at the same batch size and max length as
sentence-transformers; the sentences are 8,000 lines of LASER's Tatoeba. Target: >= 1.0x.

    python benchmarks/encoding.py [--quick]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from _common import alternate, tatoeba_sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sentences and one repeat")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from xharness.adapters import AdapterOptions, load_adapter
    from xharness.adapters.packaged import minilm_folder

    folder = minilm_folder()
    texts = tatoeba_sentences(per_language=250 if args.quick else 1000)
    st = SentenceTransformer(str(folder), device="cpu")
    ours = load_adapter(str(folder), adapter="transformers", options=AdapterOptions(max_length=st.max_seq_length, device="cpu"))

    a = ours.encode(texts[:64], batch_size=args.batch_size)
    b = st.encode(texts[:64], batch_size=args.batch_size, convert_to_numpy=True)
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    times = alternate(
        {
            "xharness transformers adapter": lambda: ours.encode(texts, batch_size=args.batch_size),
            "SentenceTransformer.encode": lambda: st.encode(texts, batch_size=args.batch_size, convert_to_numpy=True),
        },
        repeats=1 if args.quick else 3,
    )
    print(f"encoding {len(texts)} Tatoeba sentences with all-MiniLM-L6-v2, batch size {args.batch_size}, "
          f"max length {st.max_seq_length} (same vectors: min cosine {cos.min():.6f})")
    for name, seconds in times.items():
        print(f"  {name:32s} {seconds:7.2f} s   {len(texts) / seconds:8.1f} sentences/s")
    ratio = times["SentenceTransformer.encode"] / times["xharness transformers adapter"]
    print(f"throughput ratio (ours / sentence-transformers): {ratio:.2f}x   target >= 1.0x: {'met' if ratio >= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
