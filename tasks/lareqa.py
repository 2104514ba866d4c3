"""LAReQA (XTREME-R): language-agnostic answer retrieval over XQuAD-R, mAP@20 x100.

Every sentence of every paragraph of every language found is one candidate in a single pool
(candidate text: sentence + paragraph, newlines removed, stripped); a question's targets are
the sentences holding its answer in each language that has its question id. Questions rank
the whole pool by cosine; AP@20 per question, its mean per language is the main score.
XTREME's single number is the mean over all questions (`overall_map`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from xharness.errors import XharnessError
from xharness.hashing import digest, sha256_bytes
from xharness.results import LanguageScore
from xharness.tasks.base import NOT_SCORED, Embed, LanguageData, LanguageOutcome, Task
from xharness.tasks.item_records import ItemField, ItemRecord
from xharness.tasks.knn import l2_normalize
from xharness.tasks.topk import blocked_topk, large_side_vectors
from xharness.tasks.ranking import average_precision_at_k, hit_matrix
from xharness.textfiles import read_bytes

XQUAD_R = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
TOP_K = 20
EMBED_CHUNK = 65536  # pool sentences embedded per call; a larger pool streams to a memmap on disk
_SUBFOLDERS = ("lareqa/xquad-r", "xquad-r", "")


@dataclass(frozen=True)
class Question:
    question_id: str
    text: str
    paragraph: str  # candidate-id prefix of its paragraph, e.g. "de:3"
    answer: str  # the answer sentence's text


@dataclass
class Pool:
    """The candidate pool of every language and each language's questions with their targets."""

    ids: list[str]  # "lang:paragraph:sentence", paragraphs numbered from 1 per file, as XTREME counts
    texts: list[str]
    questions: dict[str, list[Question]]
    targets: dict[str, list[str]]  # question id -> candidate ids holding its answer, over all languages
    file_hashes: dict[str, str]


def candidate_text(sentence: str, context: str) -> str:
    """XTREME's candidate string: the sentence then its paragraph, no separator, newlines removed.

    Example:
        >>> candidate_text("Es regnet. ", "Es regnet. Dann\\nscheint die Sonne. ")
        'Es regnet. Es regnet. Dannscheint die Sonne.'
    """
    return (sentence + context).replace("\n", "").strip()


def read_language(raw: bytes, lang: str, *, source: Path) -> tuple[list[tuple[str, str]], list[Question], dict[str, list[str]]]:
    """One XQuAD-R file: its candidates as (id, text), its questions whose answer lies in a
    sentence, and each paragraph's sentences (keyed by the paragraph's id prefix)."""
    try:
        data = json.loads(raw.decode("utf-8"))
        candidates: list[tuple[str, str]] = []
        questions: list[Question] = []
        sentences: dict[str, list[str]] = {}
        number = 0
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                number += 1
                context = paragraph["context"]
                breaks = [(int(start), int(end)) for start, end in paragraph["sentence_breaks"]]
                prefix = f"{lang}:{number}"
                sentences[prefix] = [context[start:end] for start, end in breaks]
                for position, (start, end) in enumerate(breaks):
                    candidates.append((f"{prefix}:{position}", candidate_text(context[start:end], context)))
                for qa in paragraph["qas"]:
                    if len(qa["answers"]) != 1:
                        raise XharnessError(f"{source}: question {qa['id']} has {len(qa['answers'])} answers, expected 1")
                    at = int(qa["answers"][0]["answer_start"])
                    # The first break holding the answer's start; none: XTREME skips the question.
                    answer = next((context[s:e] for s, e in breaks if s <= at < e), None)
                    if answer:
                        questions.append(Question(str(qa["id"]), qa["question"].strip(), prefix, answer))
    except XharnessError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise XharnessError(f"{source}: not an XQuAD-R (SQuAD with sentence_breaks) file ({type(exc).__name__}: {exc})") from None
    return candidates, questions, sentences


def build_pool(files: Mapping[str, Path]) -> Pool:
    """The pool over every language file, in language order, and every question's targets."""
    ids: list[str] = []
    texts: list[str] = []
    questions: dict[str, list[Question]] = {}
    hashes: dict[str, str] = {}
    by_paragraph: dict[str, list[str]] = {}
    for lang in sorted(files):
        raw = read_bytes(files[lang])
        hashes[lang] = sha256_bytes(raw)
        candidates, questions[lang], sentences = read_language(raw, lang, source=files[lang])
        by_paragraph.update(sentences)
        for cid, text in candidates:
            ids.append(cid)
            texts.append(text)
    # XTREME marks every sentence of the paragraph whose text equals the answer sentence (a
    # sentence repeated in one paragraph is a target twice), in each language where the
    # question's own answer was found in a sentence.
    targets: dict[str, list[str]] = {}
    for lang in sorted(questions):
        for q in questions[lang]:
            found = [f"{q.paragraph}:{i}" for i, sentence in enumerate(by_paragraph[q.paragraph]) if sentence == q.answer]
            targets.setdefault(q.question_id, [])
            targets[q.question_id].extend(cid for cid in found if cid not in targets[q.question_id])
    return Pool(ids, texts, questions, targets, hashes)


def overall_map(scores: Mapping[str, LanguageScore]) -> float:
    """XTREME's single LAReQA number: mAP@20 x100 over all questions of all languages (n-weighted).

    Example:
        >>> overall_map({"de": LanguageScore(50.0, {}, 1), "en": LanguageScore(80.0, {}, 3)})
        72.5
    """
    total = sum(s.n for s in scores.values())
    return sum(s.main_score * s.n for s in scores.values()) / total


class Lareqa(Task):
    name = "lareqa"
    version = "1"
    main_metric = "map_at_20"
    rank_zero_scores = True  # under a launcher the other ranks embed in step and skip the search
    split = "test"
    item_record = ItemRecord(
        fields=(
            ItemField("question_id", "str", "the question's id (shared across languages)"),
            ItemField("ranked", "list[str]", "the top 20 candidate ids (lang:paragraph:sentence), best first"),
            ItemField("targets", "list[str]", "the candidate ids holding the answer, in every language"),
            ItemField("ap", "float", "AP@20 of the question"),
        ),
        unit="mean", value_field="ap", value_label="AP@20",
    )
    description = "LAReQA (XTREME-R): answer-sentence retrieval from one pool over all languages, mAP@20 x100"
    layout = "lareqa/xquad-r/{lang}.json (XQuAD-R: SQuAD 1.1 JSON with sentence_breaks)"
    languages_note = "XQuAD-R's 11 (" + " ".join(XQUAD_R) + "); the pool always holds every language found"

    def __init__(self, data_dir: Path | str | None, *, limit: int | None = None) -> None:
        super().__init__(data_dir, limit=limit)
        self.folder = next(
            (self.data_dir / sub for sub in _SUBFOLDERS if (self.data_dir / sub).is_dir() and any((self.data_dir / sub).glob("*.json"))),
            self.data_dir,
        )
        self._pool: Pool | None = None
        self._pool_vectors: np.ndarray | None = None

    def available_languages(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.json") if p.stem in XQUAD_R)

    def known_languages(self) -> list[str]:
        return list(XQUAD_R)

    def default_languages(self) -> list[str]:
        return list(XQUAD_R)

    def protocol(self) -> dict[str, Any]:
        return {
            "pool": "every sentence of every language file found (one pool, whatever languages are run)",
            "candidate_text": "sentence + paragraph, newlines removed, stripped",
            "query_text": "question, stripped",
            "targets": "sentences equal to the answer sentence in its paragraph, in every language with the question id",
            "similarity": "cosine, exact top 20, ties to the lower candidate index",
            "main": "mAP@20 x100 over the language's questions (AP divided by min(#targets, 20))",
            "overall": "XTREME's number: mean AP@20 over all questions (n-weighted mean of languages)",
        }

    def pool(self) -> Pool:
        if self._pool is None:
            self._pool = build_pool({lang: self.folder / f"{lang}.json" for lang in self.available_languages()})
        return self._pool

    def load_language(self, lang: str) -> LanguageData:
        pool = self.pool()
        questions = pool.questions[lang]
        if not questions:
            raise XharnessError(f"{self.folder / f'{lang}.json'}: no question has its answer inside a sentence")
        if self.limit is not None:
            questions = questions[: self.limit]
        fingerprint = digest({"files": pool.file_hashes, "language": lang, "limit": self.limit})
        files = tuple(f"{code}.json" for code in sorted(pool.file_hashes))
        return LanguageData(payload=questions, fingerprint=fingerprint, files=files)

    def pool_vectors(self, embed: Embed) -> np.ndarray:
        """The pool's normalised vectors, embedded on the first language and kept for the rest (a memmap above EMBED_CHUNK)."""
        if self._pool_vectors is None:
            self._pool_vectors = large_side_vectors(self.pool().texts, embed, owner=self, chunk=EMBED_CHUNK)
        return self._pool_vectors

    def evaluate_language(self, lang: str, data: Any, embed: Embed) -> LanguageOutcome:
        questions: list[Question] = data
        pool = self.pool()
        candidates = self.pool_vectors(embed)
        queries = l2_normalize(embed([q.text for q in questions]))
        if not self.scoring:  # a rank other than 0 under a launcher: rank 0 searches and scores
            return NOT_SCORED
        with self.searching(len(questions)) as advance:
            _, top = blocked_topk(queries, candidates, k=TOP_K, progress=advance)
        ranked = [[pool.ids[i] for i in row] for row in top.tolist()]
        targets = [pool.targets[q.question_id] for q in questions]
        ap = average_precision_at_k(hit_matrix(ranked, [set(t) for t in targets]), [len(t) for t in targets], k=TOP_K)
        metrics = {"map_at_20": 100.0 * float(ap.mean()), "n_candidates": len(pool.ids)}
        items = {
            "question_id": [q.question_id for q in questions],
            "ranked": ranked,
            "targets": targets,
            "ap": ap.tolist(),
        }
        return LanguageOutcome(score=LanguageScore(main_score=metrics["map_at_20"], metrics=metrics, n=len(questions)), items=items)
