"""Build BUCC 2018-format folders for tests: real parallel sentences from the shared Tatoeba files,
hidden among non-parallel distractors on both sides, with gold pairs; or a tiny made-up pair of splits."""

from __future__ import annotations

import random
from pathlib import Path

SHARED_TATOEBA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tatoeba" / "v1"
LASER = {"de": "deu", "fr": "fra", "ru": "rus", "zh": "cmn"}


def write_split(folder: Path, lang: str, split: str, src: list[str], en: list[str], gold: list[tuple[int, int]] | None, *, seed: int = 0) -> None:
    """Write `{lang}-en.{split}.{lang|en|gold}` with shuffled order and BUCC-style ids."""
    rng = random.Random(seed)
    src_order, en_order = list(range(len(src))), list(range(len(en)))
    rng.shuffle(src_order)
    rng.shuffle(en_order)
    src_id = {i: f"{lang}-{pos + 1:09d}" for pos, i in enumerate(src_order)}
    en_id = {i: f"en-{pos + 1:09d}" for pos, i in enumerate(en_order)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{lang}-en.{split}.{lang}").write_text("".join(f"{src_id[i]}\t{src[i]}\n" for i in src_order), encoding="utf-8")
    (folder / f"{lang}-en.{split}.en").write_text("".join(f"{en_id[i]}\t{en[i]}\n" for i in en_order), encoding="utf-8")
    if gold is not None:
        lines = sorted(f"{src_id[s]}\t{en_id[e]}\n" for s, e in gold)
        (folder / f"{lang}-en.{split}.gold").write_text("".join(lines), encoding="utf-8")


def build_from_tatoeba(folder: Path, lang: str = "de", *, n_parallel: int = 80, n_distractors: int = 80, names=("dev", "test")) -> Path:
    """Dev and test splits: n_parallel translation pairs each, plus unrelated sentences on both sides."""
    code = LASER[lang]
    other = (SHARED_TATOEBA / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
    english = (SHARED_TATOEBA / f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()
    for split_index, split in enumerate(names):
        start = split_index * (n_parallel + 2 * n_distractors)
        par = range(start, start + n_parallel)
        src_only = range(start + n_parallel, start + n_parallel + n_distractors)
        en_only = range(start + n_parallel + n_distractors, start + n_parallel + 2 * n_distractors)
        src = [other[i] for i in par] + [other[i] for i in src_only]
        en = [english[i] for i in par] + [english[i] for i in en_only]
        gold = [(i, i) for i in range(n_parallel)]
        write_split(folder, lang, split, src, en, gold, seed=split_index)
    return folder


ANIMALS, PLACES = ("cat", "dog", "bird", "fish"), ("house", "river", "market", "garden", "hill")
TIERE, ORTE = ("Katze", "Hund", "Vogel", "Fisch"), ("Haus", "Fluss", "Markt", "Garten", "Hügel")


def build_made_up(root: Path) -> Path:
    """Made-up dev and test splits: 12 translation pairs, 4 unrelated lines a side, one German line twice."""
    for seed, split in enumerate(("dev", "test")):
        de = [f"Die {TIERE[i % 4]} wartet am {ORTE[i % 5]} Nummer {i + 20 * seed}" for i in range(12)]
        en = [f"The {ANIMALS[i % 4]} waits at the {PLACES[i % 5]} number {i + 20 * seed}" for i in range(12)]
        de += [f"Heute regnet es in Stadt {i}" for i in range(4)] + [de[3]]
        en += [f"Trains leave the station at {i} o'clock" for i in range(4)]
        write_split(root, "de", split, de, en, [(i, i) for i in range(12)] + [(16, 3)], seed=seed)
    return root
