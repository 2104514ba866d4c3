"""`xharness mine`: margin-mine two text files of your own and write the scored pairs as TSV.

Input: one sentence per line, or BUCC's `id<TAB>sentence` (detected when every line has a tab,
or forced with `fmt`). Output: `score<TAB>src_id<TAB>tgt_id<TAB>src_sentence<TAB>tgt_sentence`,
best first, where ids are the BUCC ids or 1-based line numbers. Identical sentences are merged
before mining and reported for every line that holds them (LASER's --unify).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from xharness.errors import XharnessError
from xharness.fileio import atomic_write_text, check_writable
from xharness.textfiles import read_lines


@dataclass(frozen=True)
class Sentences:
    ids: tuple[str, ...]
    texts: tuple[str, ...]


def read_sentences(path: Path, *, fmt: str = "auto") -> Sentences:
    """Lines as sentences, numbered from 1; or `id<TAB>sentence` lines (fmt 'bucc', or 'auto' when all have a tab)."""
    lines = read_lines(path)
    if fmt not in ("auto", "plain", "bucc"):
        raise XharnessError(f"unknown input format '{fmt}'; choose auto, plain or bucc")
    if fmt == "bucc" or (fmt == "auto" and all("\t" in line for line in lines)):
        from xharness.tasks.bucc import read_id_sentences

        corpus = read_id_sentences(path)
        return Sentences(corpus.ids, corpus.sentences)
    return Sentences(tuple(str(i) for i in range(1, len(lines) + 1)), tuple(line.strip() for line in lines))


def check_mine_inputs(src_path: Path, tgt_path: Path, *, out: Path, threshold: float | None = None, fmt: str = "auto") -> None:
    """Everything `mine_files` needs that can be checked before the model loads; one XharnessError if not."""
    if threshold is not None and not math.isfinite(threshold):
        raise XharnessError(f"--threshold must be a finite number, got {threshold}")
    for path in (src_path, tgt_path):
        read_sentences(path, fmt=fmt)  # readable regular UTF-8 files with one convention, no blank lines
    check_writable(out)
    for path in (src_path, tgt_path):
        if Path(out).exists() and Path(out).samefile(path):
            raise XharnessError(f"{out}: is an input file; writing the pairs there would replace it")


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def mine_files(
    src_path: Path,
    tgt_path: Path,
    embed: Callable[[Sequence[str]], np.ndarray],
    *,
    out: Path,
    fmt: str = "auto",
    k: int = 4,
    margin: str = "ratio",
    retrieval: str = "max",
    threshold: float | None = None,
    index: str = "flat",
    record: dict | None = None,
) -> int:
    """Mine `src_path` against `tgt_path` and write the pairs to `out`; returns how many were written.

    `record` receives `mine`'s (an approximate index's measured recall, `index_recall`)."""
    from xharness.tasks.mining import mine

    src, tgt = read_sentences(src_path, fmt=fmt), read_sentences(tgt_path, fmt=fmt)
    s, t, scores = mine(
        embed(src.texts), embed(tgt.texts), k=k, margin=margin, retrieval=retrieval, threshold=threshold, index=index,
        unify=True, src_texts=src.texts, tgt_texts=tgt.texts, record=record,
    )
    if not np.isfinite(scores).all():
        raise XharnessError(f"{margin} margin scores are undefined for some pairs (neighbourhood similarity 0); try --margin distance")
    rows = [
        f"{score:.6f}\t{src.ids[i]}\t{tgt.ids[j]}\t{_clean(src.texts[i])}\t{_clean(tgt.texts[j])}\n"
        for i, j, score in zip(s.tolist(), t.tolist(), scores.tolist())
    ]
    atomic_write_text(out, "".join(rows))
    return len(rows)
