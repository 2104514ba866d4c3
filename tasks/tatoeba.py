"""Tatoeba bitext retrieval (XTREME protocol): English queries, the other language indexed, top-1.

Per language: `accuracy` (x100, the main score) = share of English sentences whose nearest
neighbour by cosine among the other language's sentences is their own translation; also the
other direction, and LASER's margin variant (xSIM: ratio margin over the k=4 nearest
candidates). Reads LASER's layout `tatoeba.xxx-eng.{xxx,eng}` or XTREME's `xx-en.{xx,en}`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from xharness.errors import XharnessError
from xharness.results import LanguageScore
from xharness.tasks.base import NOT_SCORED, Embed, LanguageData, LanguageOutcome, Task
from xharness.tasks.options import K, MARGIN
from xharness.tasks.item_records import ItemField, ItemRecord
from xharness.tasks.hub_tatoeba import MtebTatoeba, XtremeTatoeba
from xharness.tasks.knn import l2_normalize, two_way_knn
from xharness.tasks.languages import LASER_TO_SHORT, SHORT_TO_LASER, XTREME_TATOEBA, to_short
from xharness.tasks.mining import margin_rescore
from xharness.tasks.probe import accuracy
from xharness.textfiles import read_sentence_lines

# Where the files may sit under --data-dir, tried in order.
_SUBFOLDERS = ("", "tatoeba/v1", "tatoeba", "v1", "LASER/data/tatoeba/v1")


# XTREME's download names: `xx-en.xx` and `xx-en.en`. Anything else (BUCC's `de-en.dev.de` beside
# them in a shared data folder, say) is not a Tatoeba file.
_XTREME_NAME = re.compile(r"^(?P<lang>[^.]+)-en\.(?P<side>[^.]+)$")


def _xtreme_language(name: str) -> str | None:
    match = _XTREME_NAME.match(name)
    if match and match["side"] in (match["lang"], "en"):
        return match["lang"]
    return None


def _pair_files(folder: Path, lang: str) -> tuple[Path, Path] | None:
    """(other-language file, English file) for `lang` in `folder`, in LASER's or XTREME's naming."""
    laser = SHORT_TO_LASER.get(lang, lang)
    candidates = [
        (folder / f"tatoeba.{laser}-eng.{laser}", folder / f"tatoeba.{laser}-eng.eng"),
        (folder / f"{lang}-en.{lang}", folder / f"{lang}-en.en"),
    ]
    for other, english in candidates:
        if other.exists() or english.exists():
            return other, english
    return None


def _read_sentences(path: Path) -> tuple[list[str], bytes]:
    lines, data = read_sentence_lines(path)
    # Edge whitespace carries no meaning and XTREME strips it; keep inner text as is.
    return [line.strip() for line in lines], data


class Tatoeba(Task):
    name = "tatoeba"
    version = "1"
    main_metric = "accuracy"
    rank_zero_scores = True  # under a launcher the other ranks embed in step and skip the search
    item_record = ItemRecord(
        fields=(
            ItemField("predicted", "int", "index of the retrieved target sentence (English query, top-1 cosine)"),
            ItemField("correct", "int", "1 when the retrieved sentence is the query's translation, else 0"),
            ItemField("predicted_xx2en", "int", "index retrieved in the other direction (xx query, English targets)"),
            ItemField("predicted_margin", "int", "index retrieved with the margin score (xSIM)"),
        ),
        unit="mean", value_field="correct", value_label="correctness",
    )
    description = "Tatoeba bitext retrieval, XTREME protocol (English queries, top-1 cosine, accuracy x100)"
    layout = "tatoeba.xxx-eng.{xxx,eng} (LASER, e.g. tatoeba/v1/) or xx-en.{xx,en} (XTREME download)"
    languages_note = "XTREME's 36 by default (" + " ".join(XTREME_TATOEBA) + "); -l all for all found; 2- or 3-letter codes"

    options = (K, MARGIN)
    hub_readers = (MtebTatoeba, XtremeTatoeba)

    def __init__(self, data_dir: Path | str | None, *, limit: int | None = None, k: int = 4, margin: str = "ratio") -> None:
        super().__init__(data_dir, limit=limit)
        self.set_options(k=k, margin=margin)
        self.k, self.margin = k, margin
        self.folder = self._find_folder()

    def _find_folder(self) -> Path:
        for sub in _SUBFOLDERS:
            folder = self.data_dir / sub if sub else self.data_dir
            if folder.is_dir() and (
                any(folder.glob("tatoeba.*-eng.*")) or any(_xtreme_language(p.name) for p in folder.glob("*-en.*"))
            ):
                return folder
        return self.data_dir

    def data_folder(self) -> Path:
        return self.folder

    def available_languages(self) -> list[str]:
        # Either file of a pair makes the language present, so a missing partner is named in an error.
        found = set()
        for path in self.folder.glob("tatoeba.*-eng.*"):
            code = path.name[len("tatoeba."):].split("-eng.")[0]
            found.add(LASER_TO_SHORT.get(code, code))
        for path in self.folder.glob("*-en.*"):
            lang = _xtreme_language(path.name)
            if lang is not None:
                found.add(lang)
        return sorted(found)

    def known_languages(self) -> list[str]:
        return sorted(set(LASER_TO_SHORT.values()) | set(self.available_languages()))

    def canonical_language(self, code: str) -> str | None:
        short = to_short(code)
        if short is not None:
            return short
        code = code.strip().lower()
        return code if code in self.languages_present() else None

    def default_languages(self) -> list[str]:
        return list(XTREME_TATOEBA)

    def protocol(self) -> dict[str, Any]:
        return {
            "queries": "en",
            "index": "other language",
            "similarity": "cosine (L2-normalised inner product, FAISS IndexFlatIP)",
            "main": "top-1 accuracy x100, en->xx (XTREME)",
            "extra": {
                "accuracy_xx2en": "top-1 accuracy x100, other language as queries",
                "accuracy_margin": f"top-1 by {self.margin} margin over the k={self.k} nearest candidates, en->xx (LASER xSIM)",
            },
            "correct_if": "the retrieved index is the query's own line (ties between identical sentences count only the own line)",
        }

    def load_language(self, lang: str) -> LanguageData:
        files = _pair_files(self.folder, lang)
        if files is None:
            raise XharnessError(f"{self.folder}: no Tatoeba files for '{lang}'")
        other_path, english_path = files
        other, other_raw = _read_sentences(other_path)
        english, english_raw = _read_sentences(english_path)
        if len(other) != len(english):
            raise XharnessError(
                f"{other_path} has {len(other)} lines but {english_path} has {len(english)}: the files must be parallel"
            )
        if self.limit is not None:
            other, english = other[: self.limit], english[: self.limit]
        h = hashlib.sha256()
        for raw in (other_raw, english_raw):
            h.update(hashlib.sha256(raw).digest())
        h.update(str(self.limit).encode())
        return LanguageData(payload=(english, other), fingerprint=h.hexdigest(), files=(other_path.name, english_path.name))

    def evaluate_language(self, lang: str, data: Any, embed: Embed) -> LanguageOutcome:
        english, other = data
        en_vecs = l2_normalize(embed(english))
        xx_vecs = l2_normalize(embed(other))
        if not self.scoring:  # a rank other than 0 under a launcher: rank 0 searches and scores
            return NOT_SCORED
        metrics, items = score_retrieval(en_vecs, xx_vecs, k=self.k, margin=self.margin)
        score = LanguageScore(main_score=metrics["accuracy"], metrics=metrics, n=len(english))
        return LanguageOutcome(score=score, items=items)


def score_retrieval(
    queries: np.ndarray, targets: np.ndarray, *, k: int = 4, margin: str = "ratio"
) -> tuple[dict[str, float], dict[str, list]]:
    """Tatoeba metrics for aligned, L2-normalised rows: queries[i] translates targets[i].

    One exact two-way k-nearest-neighbour pass (the mining engine's) gives both directions'
    top-1 and the neighbourhood means of the margin variant. Equal similarities go to the lower
    index, as `argmax` does: a model that maps two different sentences to one vector (e.g. all
    unknown tokens) is right on such a query only when the tie falls on its own line first.

    Returns metrics (x100) and per-item outcomes (predicted index and correctness per query).
    """
    if queries.shape != targets.shape:
        raise ValueError(f"queries {queries.shape} and targets {targets.shape} must be aligned and the same shape")
    gold = np.arange(queries.shape[0])
    nb = two_way_knn(queries, targets, k=k)
    pred = nb.fwd_I[:, 0]
    pred_back = nb.bwd_I[:, 0]
    scores = margin_rescore(nb.fwd_D, nb.fwd_I, nb.fwd_D.mean(axis=1), nb.bwd_D.mean(axis=1), margin=margin)
    pred_margin = nb.fwd_I[np.arange(nb.fwd_I.shape[0]), scores.argmax(axis=1)]
    metrics = {
        "accuracy": 100.0 * accuracy(pred, gold),
        "accuracy_xx2en": 100.0 * accuracy(pred_back, gold),
        "accuracy_margin": 100.0 * accuracy(pred_margin, gold),
    }
    items = {
        "predicted": pred.tolist(),
        "correct": (pred == gold).astype(int).tolist(),
        "predicted_xx2en": pred_back.tolist(),
        "predicted_margin": pred_margin.tolist(),
    }
    return metrics, items
