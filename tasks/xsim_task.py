"""The xSIM task seam: N-way parallel sentence files scored with LASER's xSIM (and xSIM++), lower is better.

A subclass says where its files are (`find_files`, `english_code`, `hard_negative_files`);
this class reads and checks them, embeds each distinct set once per run, and scores each
language against English (`xx-en`, LASER's default: the language's sentences are the queries,
English the candidates), the other way round (`en-xx`), or every ordered pair of the chosen
languages (`nway`, LASER's `--nway`: a language's score is its row average, the full matrix
goes under the result's task protocol). The maths is `xsim.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from xharness.errors import XharnessError
from xharness.results import LanguageScore, TaskResult
from xharness.tasks.base import NOT_SCORED, Embed, LanguageData, LanguageOutcome, Task
from xharness.tasks.item_records import ItemField, ItemRecord
from xharness.tasks.languages import match_code
from xharness.tasks.options import TaskOption
from xharness.tasks.xsim import MISALIGNED, error_types, errors, retrieve, xsim_matrix
from xharness.textfiles import read_bytes, read_sentence_lines

DIRECTIONS = ("xx-en", "en-xx", "nway")
DIRECTION = TaskOption(
    "direction", str, "xx-en",
    "xx-en: the language's sentences query English (LASER's default); en-xx: English queries; nway: every ordered pair",
    choices=DIRECTIONS,
)
ERRORS_BY = TaskOption(
    "errors_by", str, "index", "an error is another line (index) or another text (text, LASER's eval_text)", choices=("index", "text"),
)


@dataclass(frozen=True)
class HardNegatives:
    """xSIM++'s augmented English: the lines, and per line text its (original sentence, error type)."""

    texts: tuple[str, ...]
    types: Mapping[str, tuple[str, str]]
    files: tuple[Path, Path]


@dataclass(frozen=True)
class Bitext:
    """One language's payload: its sentences, English's, and English's hard negatives when present."""

    texts: tuple[str, ...]
    english: tuple[str, ...]
    hard_negatives: HardNegatives | None = None


def read_sentences(path: Path) -> tuple[tuple[str, ...], bytes]:
    """A sentence file's lines as they are (LASER compares whole lines) and its bytes; blank lines refused."""
    lines, data = read_sentence_lines(path)
    return tuple(lines), data


def read_hard_negatives(aug_path: Path, types_path: Path, english: Sequence[str], *, limit: int | None) -> tuple[HardNegatives, bytes]:
    """The augmented English and its error types, checked against the English originals."""
    lines, aug_raw = read_sentences(aug_path)
    types_raw = read_bytes(types_path)
    try:
        table = json.loads(types_raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XharnessError(f"{types_path}: not a JSON error-type file ({exc})") from None
    ok = isinstance(table, dict) and all(
        isinstance(v, dict) and isinstance(v.get("src"), str) and isinstance(v.get("errtype"), str) for v in table.values()
    )
    if not ok:
        raise XharnessError(f"{types_path}: expected an object mapping each augmented sentence to {{\"src\": ..., \"errtype\": ...}}")
    originals = {line.strip() for line in english}
    kept_originals = {line.strip() for line in english[:limit]} if limit is not None else originals
    kept = []
    for number, line in enumerate(lines, start=1):
        entry = table.get(line.strip())
        if entry is None:
            raise XharnessError(f"{aug_path}: line {number} has no entry in {types_path.name}")
        if entry["src"].strip() not in originals:
            raise XharnessError(
                f"{aug_path}: line {number} was made from a sentence that is not in the English file "
                f"(the augmented file does not match these originals)"
            )
        if entry["src"].strip() in kept_originals:
            kept.append(line)
    types = {key.strip(): (value["src"].strip(), value["errtype"]) for key, value in table.items()}
    return HardNegatives(tuple(kept), types, (aug_path, types_path)), aug_raw + b"\0" + types_raw


def metric_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "other"


class XsimTask(Task):
    """Base of the xSIM tasks (module docstring); a subclass gives the layout."""

    version = "1"
    main_metric = "xsim"
    rank_zero_scores = True  # under a launcher the other ranks embed in step and skip the search
    higher_is_better = False
    english_code: ClassVar[str]
    item_record = ItemRecord(
        fields=(
            ItemField("retrieved", "int", "index of the candidate retrieved for this query (absent in nway)", required=False),
            ItemField("margin", "float", "its margin score (absent in nway)", required=False),
            ItemField("error", "float", "1 when the retrieved candidate is not the query's translation, else 0 "
                      "(nway: the share of the other languages where it is not)"),
            ItemField("retrieved_pp", "int", "xSIM++: index retrieved among English then its hard negatives (when present)", required=False),
            ItemField("margin_pp", "float", "xSIM++: its margin score", required=False),
            ItemField("error_pp", "int", "xSIM++: 1 when wrong, else 0", required=False),
            ItemField("errtype_pp", "str", f"xSIM++: '' when right, else the hard negative's error type or '{MISALIGNED}'", required=False),
        ),
        unit="mean", value_field="error", value_label="error (0/1)",
    )

    def __init__(self, data_dir, *, limit=None, k=4, margin="ratio", direction="xx-en", errors_by="index", **options) -> None:
        super().__init__(data_dir, limit=limit)
        self.set_options(k=k, margin=margin, direction=direction, errors_by=errors_by, **options)
        self.k, self.margin, self.direction, self.errors_by = k, margin, direction, errors_by
        self._files: dict[str, Path] | None = None
        self._chosen: list[str] | None = None
        self._reset()

    # -- what a subclass implements ----------------------------------------------------

    def find_files(self) -> dict[str, Path]:
        """Every sentence file found, by its own language code (English included)."""
        raise NotImplementedError

    def hard_negative_files(self) -> tuple[Path, Path] | None:
        """(augmented English, its error types) when present; one without the other is refused."""
        return None

    # -- languages ----------------------------------------------------------------------

    @property
    def files(self) -> dict[str, Path]:
        if self._files is None:
            self._files = self.find_files()
        return self._files

    def available_languages(self) -> list[str]:
        nway = self.direction == "nway"
        return sorted(code for code in self.files if nway or code != self.english_code)

    def canonical_language(self, code: str) -> str | None:
        return match_code(code, self.languages_present(), task=self.name)

    def load(self, languages: Sequence[str] = ()) -> dict[str, LanguageData]:
        loaded = super().load(languages)
        self._chosen = list(loaded)
        if self.direction == "nway":
            if len(loaded) < 2:
                raise XharnessError(f"--direction nway needs at least two languages, got {', '.join(loaded)}")
            first = next(iter(loaded))
            for lang, data in loaded.items():
                if len(data.payload.texts) != len(loaded[first].payload.texts):
                    raise XharnessError(
                        f"{self.files.get(lang, data.files[0])} has {len(data.payload.texts)} lines but "
                        f"{self.files.get(first, loaded[first].files[0])} has "
                        f"{len(loaded[first].payload.texts)}: the files must be parallel"
                    )
        return loaded

    def config(self) -> dict[str, Any]:
        out = super().config()
        if self.direction == "nway":  # a row average depends on the other languages of the run
            out["nway_languages"] = sorted(self._chosen) if self._chosen is not None else None
        return out

    # -- data -----------------------------------------------------------------------------

    def load_language(self, lang: str) -> LanguageData:
        path = self.files[lang]
        texts, raw = read_sentences(path)
        h = hashlib.sha256(hashlib.sha256(raw).digest())
        names = [path.name]
        english: tuple[str, ...] = ()
        negatives = None
        if self.direction != "nway":
            en_path = self.files.get(self.english_code)
            if en_path is None:
                raise XharnessError(f"{path.parent}: no English file ({self.english_code}) to score '{lang}' against")
            english, en_raw = read_sentences(en_path)
            if len(english) != len(texts):
                raise XharnessError(f"{path} has {len(texts)} lines but {en_path} has {len(english)}: the files must be parallel")
            h.update(hashlib.sha256(en_raw).digest())
            names.append(en_path.name)
            pair = self.hard_negative_files() if self.direction == "xx-en" else None
            if pair is not None:
                negatives, neg_raw = read_hard_negatives(*pair, english, limit=self.limit)
                h.update(hashlib.sha256(neg_raw).digest())
                names += [p.name for p in pair]
        if self.limit is not None:
            texts, english = texts[: self.limit], english[: self.limit]
        h.update(str(self.limit).encode())
        return LanguageData(payload=Bitext(texts, english, negatives), fingerprint=h.hexdigest(), files=tuple(names))

    # -- scoring --------------------------------------------------------------------------

    def _reset(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._payloads: dict[str, Bitext] = {}
        self._matrix: tuple[np.ndarray, list[np.ndarray]] | None = None

    def _embed_once(self, key: str, texts: Sequence[str], embed: Embed) -> np.ndarray:
        if key not in self._vectors:
            self._vectors[key] = embed(list(texts))
        return self._vectors[key]

    def run(self, embed: Embed, *, loaded: Mapping[str, LanguageData] | None = None, languages: Sequence[str] = (), **kwargs) -> TaskResult:
        self._reset()  # vectors belong to one run's embed (a layer sweep runs once per layer)
        if loaded is None:
            loaded = self.load(languages)
        self._payloads = {lang: data.payload for lang, data in loaded.items() if data.payload is not None}
        result = super().run(embed, loaded=loaded, **kwargs)
        if self.direction == "nway" and not self.scoring:
            self._nway_vectors(embed)  # the embed calls rank 0's matrix makes when no language made them
        elif self.direction == "nway":
            langs = list(self._payloads)
            rates, _ = self._nway(embed)
            rows = [[None if a == b else float(rates[a, b]) for b in range(len(langs))] for a in range(len(langs))]
            result.task["protocol"]["matrix"] = {"languages": langs, "rows": "query language", "columns": "candidate language", "xsim": rows}
        return result

    def _nway_vectors(self, embed: Embed) -> list[np.ndarray]:
        return [self._embed_once(lang, self._payloads[lang].texts, embed) for lang in self._payloads]

    def _nway(self, embed: Embed) -> tuple[np.ndarray, list[np.ndarray]]:
        if self._matrix is None:
            langs = list(self._payloads)
            vectors = self._nway_vectors(embed)
            texts = [self._payloads[lang].texts for lang in langs] if self.errors_by == "text" else None
            self._matrix = xsim_matrix(vectors, texts, k=self.k, margin=self.margin)
        return self._matrix

    def _retrieve(self, queries: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        best, score = retrieve(queries, candidates, k=self.k, margin=self.margin)
        if not np.isfinite(score).all():
            raise XharnessError(f"{self.margin} margin scores are undefined for some sentences (neighbourhood similarity 0); try --margin distance")
        return best, score

    def evaluate_language(self, lang: str, data: Any, embed: Embed) -> LanguageOutcome:
        if self.direction == "nway" and not self.scoring:  # a rank other than 0 under a launcher: rank 0 scores
            self._nway_vectors(embed)
            return NOT_SCORED
        if self.direction == "nway":
            rates, shares = self._nway(embed)
            row = list(self._payloads).index(lang)
            others = [b for b in range(rates.shape[0]) if b != row]
            metrics = {
                "xsim": float(shares[row].mean() * 100.0),
                "xsim_as_target": float(np.mean([rates[a, row] for a in others])),
            }
            score = LanguageScore(main_score=metrics["xsim"], metrics=metrics, n=len(data.texts))
            return LanguageOutcome(score=score, items={"error": shares[row].tolist()})
        by_text = self.errors_by == "text"
        xx = self._embed_once(lang, data.texts, embed)
        en = self._embed_once(self.english_code, data.english, embed)
        negatives = data.hard_negatives
        # Every embed call before the first search, so a rank that does not score makes the same calls.
        hard = self._embed_once("\0hard negatives", negatives.texts, embed) if negatives is not None and negatives.texts else None
        if not self.scoring:  # a rank other than 0 under a launcher: rank 0 searches and scores
            return NOT_SCORED
        queries, candidates, texts = (xx, en, data.english) if self.direction == "xx-en" else (en, xx, data.texts)
        best, score = self._retrieve(queries, candidates)
        wrong = errors(best, texts if by_text else None)
        metrics: dict[str, float] = {"xsim": 100.0 * float(wrong.mean()), "n_errors": float(wrong.sum())}
        items: dict[str, list] = {"retrieved": best.tolist(), "margin": score.astype(float).tolist(), "error": wrong.astype(int).tolist()}
        if negatives is not None:
            candidates = en if hard is None else np.vstack([en, hard])
            pool = data.english + negatives.texts
            best_pp, score_pp = self._retrieve(xx, candidates)
            wrong_pp = errors(best_pp, pool if by_text else None)
            kinds = error_types(wrong_pp, best_pp, pool, negatives.types)
            counts = Counter(kinds)
            metrics.update({"xsimpp": 100.0 * float(wrong_pp.mean()), "n_errors_pp": float(wrong_pp.sum()),
                            "n_hard_negatives": float(len(negatives.texts))})
            for kind in sorted({t for _, t in negatives.types.values()} | {MISALIGNED}):
                name = f"xsimpp_errors_{metric_slug(kind)}"
                metrics[name] = metrics.get(name, 0.0) + float(counts.get(kind, 0))
            items.update({"retrieved_pp": best_pp.tolist(), "margin_pp": score_pp.astype(float).tolist(),
                          "error_pp": wrong_pp.astype(int).tolist(), "errtype_pp": kinds})
        score_ = LanguageScore(main_score=metrics["xsim"], metrics=metrics, n=len(wrong))
        return LanguageOutcome(score=score_, items=items)

    def protocol(self) -> dict[str, Any]:
        queries = {"xx-en": "the language's sentences", "en-xx": "English", "nway": "each language in turn"}[self.direction]
        candidates = {"xx-en": "English", "en-xx": "the language's sentences", "nway": "each other language"}[self.direction]
        out = {
            "name": "LASER xSIM",
            "direction": self.direction,
            "queries": queries,
            "candidates": candidates,
            "retrieval": f"exact {self.k} nearest neighbours both ways (L2-normalised, inner product); the best of the query's "
                         f"{self.k} by {self.margin} margin (absolute: the nearest)",
            "error": "retrieved line is not the query's own line" if self.errors_by == "index"
                     else "retrieved line's text differs from the own line's text (LASER's eval_text)",
            "main": "xsim = errors / queries x 100 (lower is better)"
                    + ("; per language: its row average over the other languages as candidates" if self.direction == "nway" else ""),
            "ties": "equal similarities and equal margins go to the lower index",
        }
        if self.direction == "xx-en" and self.hard_negative_files() is not None:
            out["xsimpp"] = ("English candidates plus the augmented hard negatives; xsimpp = error rate x100, "
                             f"xsimpp_errors_<type> = errors per hard-negative type, '{MISALIGNED}' for any other error")
        return out
