"""Forming batches: longest sentences first, dynamic padding, and an optional token budget.

Pure numpy: given token lengths, return the row indices of each batch. Sorting by length keeps
padding small (see benchmarks/padding.py); the budget caps `rows x longest row` per batch so a
run of long sentences cannot exhaust memory while short ones still batch widely.
"""

from __future__ import annotations

import numpy as np


def length_sorted_batches(lengths: np.ndarray, *, batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Row indices per batch, longest first; each batch holds at most `batch_size` rows and, with a
    budget, at most `max_tokens` padded tokens (a single row longer than the budget goes alone).

    Example:
        >>> [b.tolist() for b in length_sorted_batches(np.array([3, 9, 5, 1]), batch_size=2)]
        [[1, 2], [0, 3]]
        >>> [b.tolist() for b in length_sorted_batches(np.array([3, 9, 5, 1]), batch_size=4, max_tokens=12)]
        [[1], [2, 0], [3]]
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D, got shape {lengths.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    order = np.argsort(-lengths, kind="stable")
    batches = []
    start = 0
    while start < order.size:
        width = max(int(lengths[order[start]]), 1)  # the first row is the batch's longest
        size = batch_size if max_tokens is None else max(1, min(batch_size, max_tokens // width))
        batches.append(order[start:start + size])
        start += size
    return batches
