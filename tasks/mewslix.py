"""Mewsli-X (XTREME-R): entity retrieval from mentions in WikiNews, MRR@20 x100 against ~1M entities.

Candidates are entity descriptions (their sentence spans joined by a space); a query is the
sentence holding the mention, marked `{mention}: {left} { {mention} } {right}`. Cosine top-20
over every candidate, reciprocal rank of the first gold QID (0 when missed). The candidate
vectors go to a temporary memmap and are searched in blocks, so memory stays bounded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xharness.errors import XharnessError
from xharness.hashing import digest, sha256_bytes
from xharness.results import LanguageScore
from xharness.tasks.base import NOT_SCORED, Embed, LanguageData, LanguageOutcome, Task
from xharness.tasks.item_records import ItemField, ItemRecord
from xharness.tasks.knn import l2_normalize
from xharness.tasks.topk import blocked_topk, large_side_vectors
from xharness.tasks.options import TaskOption
from xharness.tasks.ranking import hit_matrix, reciprocal_rank_at_k
from xharness.textfiles import decode_lines, read_bytes

MEWSLIX = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")
TOP_K = 20
EMBED_CHUNK = 65536  # candidates embedded per call, then written to disk
_SUBFOLDERS = ("mewslix", "")
_BRACES = re.compile(r"\{(.*?)\}")  # a balanced pair on one line, shortest first, as XTREME escapes


def normalise(text: str) -> str:
    """Line breaks to spaces, one pass of double spaces to one, stripped (XTREME's normalisation).

    Example:
        >>> normalise(" a\\nb  c ")
        'a b c'
    """
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def entity_text(description: str, spans: list[tuple[int, int]]) -> str:
    """A candidate's text: its description's sentence spans joined by a space, normalised.

    Example:
        >>> entity_text("Ein Fluss.  Er ist lang.", [(0, 10), (12, 24)])
        'Ein Fluss. Er ist lang.'
    """
    return normalise(" ".join(description[s:e] for s, e in spans))


def mention_query(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str | None:
    """The query for the mention text[start:end]: its sentence only, braces escaped, the mention marked.

    None when no sentence span holds the whole mention (XTREME cannot build that query).

    Example:
        >>> mention_query("Sie kam. There is a {big} monster.", [(0, 8), (9, 34)], 9, 14)
        'There: { There } is a (big) monster.'
    """
    sentence = next(((s, e) for s, e in spans if s <= start < e and s < end <= e), None)
    if sentence is None:
        return None
    s, e = sentence
    mention = text[start:end]
    left = _BRACES.sub(r"(\1)", text[s:start])
    right = _BRACES.sub(r"(\1)", text[end:e])
    return normalise(f"{mention}: {left} {{ {mention} }} {right}")


@dataclass(frozen=True)
class Queries:
    example_ids: list[str]
    texts: list[str | None]  # None: no mention with that id (XTREME counts it as a miss)
    gold: list[list[str]]


def _jsonl(path: Path) -> tuple[list[Any], str]:
    raw = read_bytes(path)
    try:
        rows = [json.loads(line) for line in decode_lines(raw, source=path) if line.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XharnessError(f"{path}: not JSON lines ({exc})") from None
    return rows, sha256_bytes(raw)


def _spans(value: Any) -> list[tuple[int, int]]:
    return [(int(span["start"]), int(span["end"])) for span in value]


def read_entities(path: Path, *, limit: int | None = None) -> tuple[list[str], list[str], str]:
    """Entity ids and candidate texts (the first `limit` entities only, when given), and the file hash."""
    rows, fingerprint = _jsonl(path)
    rows = rows[:limit] if limit is not None else rows
    try:
        ids = [str(row["entity_id"]) for row in rows]
        texts = [entity_text(row["description"], _spans(row["sentence_spans"])) for row in rows]
    except (KeyError, TypeError, ValueError) as exc:
        raise XharnessError(f"{path}: an entity lacks entity_id, description or sentence_spans ({exc})") from None
    if not ids:
        raise XharnessError(f"{path}: no entities")
    return ids, texts, fingerprint


def read_queries(mentions_path: Path, labels_path: Path) -> tuple[Queries, str]:
    """The labelled examples of one language, in label-file order, with their query texts."""
    docs, mentions_hash = _jsonl(mentions_path)
    raw = read_bytes(labels_path)
    try:
        labels = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise XharnessError(f"{labels_path}: not JSON ({exc})") from None
    if not isinstance(labels, dict) or not labels:
        raise XharnessError(f"{labels_path}: expected a non-empty mapping of example_id to [QID]")
    if not all(isinstance(v, list) and v and isinstance(v[0], str) and v[0].strip() for v in labels.values()):
        raise XharnessError(f"{labels_path}: some examples have no gold QID (XTREME blanks the test labels; score dev)")
    texts: dict[str, str] = {}
    for number, doc in enumerate(docs, start=1):
        try:
            context = doc["context"]
            text, spans = context["text"], _spans(context["sentence_spans"])
            for m in doc["mentions"]:
                span = m["mention_span"]
                start, end = int(span["start"]), int(span["end"])
                if text[start:end] != span["text"]:
                    raise XharnessError(f"{mentions_path}: line {number}: mention {m['example_id']} text does not match its span")
                query = mention_query(text, spans, start, end)
                if query is None:
                    raise XharnessError(f"{mentions_path}: line {number}: mention {m['example_id']} is not inside one sentence")
                texts[str(m["example_id"])] = query
        except (KeyError, TypeError, ValueError) as exc:
            raise XharnessError(f"{mentions_path}: line {number}: not a Mewsli-X mentions record ({exc})") from None
    ids = list(labels)
    queries = Queries(ids, [texts.get(i) for i in ids], [[q.strip() for q in labels[i]] for i in ids])
    return queries, digest({"mentions": mentions_hash, "labels": sha256_bytes(raw)})


class MewsliX(Task):
    name = "mewslix"
    version = "1"
    main_metric = "mrr_at_20"
    rank_zero_scores = True  # under a launcher the other ranks embed in step and skip the search
    split = "dev"  # the class default; `--split` sets the instance's
    item_record = ItemRecord(
        fields=(
            ItemField("example_id", "str", "the mention's example id"),
            ItemField("ranked", "list[str]", "the top 20 entity ids, best first (empty when the mention is missing)"),
            ItemField("gold", "list[str]", "the gold QIDs (the first one is scored)"),
            ItemField("rr", "float", "reciprocal rank of the first gold QID in the top 20 (0 when missed)"),
        ),
        unit="mean", value_field="rr", value_label="reciprocal rank",
    )
    description = "Mewsli-X (XTREME-R): mention-to-entity retrieval over the whole candidate set, MRR@20 x100"
    layout = "mewslix/candidate_set_entities.jsonl, mewslix/wikinews_mentions/{split}-{lang}.jsonl, mewslix/wikinews_labels/{split}-{lang}.json"
    languages_note = "Mewsli-X's 11 (" + " ".join(MEWSLIX) + ")"
    options = (
        TaskOption("split", str, "dev", "Mewsli-X split (XTREME blanks test labels)", choices=("dev", "test")),
        TaskOption("candidates_limit", int, None, "only the first N candidate entities (quick checks only)", minimum=1),
    )

    def __init__(
        self, data_dir: Path | str | None, *, limit: int | None = None, split: str = "dev", candidates_limit: int | None = None
    ) -> None:
        super().__init__(data_dir, limit=limit)
        self.set_options(split=split, candidates_limit=candidates_limit)
        self.split, self.candidates_limit = split, candidates_limit
        self.folder = next((self.data_dir / s for s in _SUBFOLDERS if (self.data_dir / s / "candidate_set_entities.jsonl").exists()), self.data_dir)
        self._entities: tuple[list[str], list[str], str] | None = None
        self._vectors: np.ndarray | None = None

    def available_languages(self) -> list[str]:
        folder = self.folder / "wikinews_mentions"
        return sorted(lang for lang in MEWSLIX if (folder / f"{self.split}-{lang}.jsonl").exists())

    def known_languages(self) -> list[str]:
        return list(MEWSLIX)

    def default_languages(self) -> list[str]:
        return list(MEWSLIX)

    def protocol(self) -> dict[str, Any]:
        return {
            "candidates": "every entity in candidate_set_entities.jsonl" if self.candidates_limit is None
            else f"the first {self.candidates_limit} entities only (a quick check, not comparable with full runs)",
            "candidates_limit": self.candidates_limit,
            "candidate_text": "description sentence spans joined by a space, line breaks to spaces, double spaces collapsed once, stripped",
            "query_text": "'{mention}: {left} { {mention} } {right}' over the mention's sentence, {..} in it escaped as (..), normalised",
            "similarity": "cosine, exact top 20 (blocked), ties to the lower candidate index",
            "main": "MRR@20 x100 against the first gold QID; a labelled example without a mention counts 0",
        }

    def entities(self) -> tuple[list[str], list[str], str]:
        if self._entities is None:
            path = self.folder / "candidate_set_entities.jsonl"
            if not path.exists():
                raise XharnessError(f"{path}: candidate entities not found (expected layout: {self.layout})")
            self._entities = read_entities(path, limit=self.candidates_limit)
        return self._entities

    def load_language(self, lang: str) -> LanguageData:
        mentions = self.folder / "wikinews_mentions" / f"{self.split}-{lang}.jsonl"
        labels = self.folder / "wikinews_labels" / f"{self.split}-{lang}.json"
        if not labels.exists():
            raise XharnessError(f"{labels}: labels not found (Mewsli-X scores {self.split} against wikinews_labels)")
        queries, fingerprint = read_queries(mentions, labels)
        if self.limit is not None:
            queries = Queries(*(field[: self.limit] for field in (queries.example_ids, queries.texts, queries.gold)))
        entities_hash = self.entities()[2]
        fingerprint = digest({"queries": fingerprint, "entities": entities_hash, "candidates_limit": self.candidates_limit, "limit": self.limit})
        return LanguageData(payload=queries, fingerprint=fingerprint, files=(mentions.name, labels.name, "candidate_set_entities.jsonl"))

    def candidate_vectors(self, embed: Embed) -> np.ndarray:
        """Normalised candidate vectors, embedded in chunks into a temporary memmap (once per task instance)."""
        if self._vectors is None:
            self._vectors = large_side_vectors(self.entities()[1], embed, owner=self, chunk=EMBED_CHUNK)
        return self._vectors

    def evaluate_language(self, lang: str, data: Any, embed: Embed) -> LanguageOutcome:
        queries: Queries = data
        ids = self.entities()[0]
        candidates = self.candidate_vectors(embed)
        present = [i for i, text in enumerate(queries.texts) if text is not None]
        ranked: list[list[str]] = [[] for _ in queries.example_ids]
        vectors = l2_normalize(embed([queries.texts[i] for i in present])) if present else None
        if not self.scoring:  # a rank other than 0 under a launcher: rank 0 searches and scores
            return NOT_SCORED
        if present:
            with self.searching(len(present)) as advance:
                _, top = blocked_topk(vectors, candidates, k=TOP_K, progress=advance)
            for i, row in zip(present, top.tolist()):
                ranked[i] = [ids[j] for j in row]
        rr = reciprocal_rank_at_k(hit_matrix(ranked, [g[0] for g in queries.gold]), k=TOP_K)
        metrics = {
            "mrr_at_20": 100.0 * float(rr.mean()),
            "n_candidates": len(ids),
            "n_without_mention": len(queries.example_ids) - len(present),
        }
        items = {"example_id": list(queries.example_ids), "ranked": ranked, "gold": [list(g) for g in queries.gold], "rr": rr.tolist()}
        score = LanguageScore(main_score=metrics["mrr_at_20"], metrics=metrics, n=len(queries.example_ids))
        return LanguageOutcome(score=score, items=items)
