"""BUCC 2018's data as the task holds it, whatever it was read from (files or a Hugging Face copy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BUCC_LANGUAGES = ("de", "fr", "ru", "zh")
# Our split name -> the names it may have on disk (XTREME's first, then BUCC's).
SPLIT_NAMES = {"dev": ("dev", "sample"), "test": ("test", "training")}


@dataclass(frozen=True)
class Corpus:
    """One side of one split: ids and sentences in file order."""

    ids: tuple[str, ...]
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Split:
    name: str
    src: Corpus
    en: Corpus
    gold: frozenset[tuple[str, str]] | None  # None when the split ships without gold
    files: tuple[Path, ...]
