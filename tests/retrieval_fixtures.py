"""Tiny LAReQA (XQuAD-R) and Mewsli-X folders in XTREME's layouts, with made-up sentences."""

from __future__ import annotations

import json
import random
from pathlib import Path

# Three languages share question ids q1..q4; q4 exists in en and de only.
# In es, q2's answer start falls in a gap between sentence breaks: es drops q2, and the other
# languages' q2 targets hold no es sentence. In de, paragraph 1 repeats its answer sentence.
LAREQA = {
    "en": [
        ("The river runs north. It is very long. Fish live in it.",
         [("q1", "Which way does the river run?", "north"), ("q2", "What lives in the river?", "Fish")]),
        ("A small town sits on the hill. Its bakery opens at six. People like the bread.",
         [("q3", "When does the bakery open?", "six"), ("q4", "Where is the town?", "hill")]),
    ],
    "de": [
        ("Der Fluss fließt nach Norden. Er ist sehr lang. Der Fluss fließt nach Norden. Fische leben darin.",
         [("q1", "Wohin fließt der Fluss?", "Norden"), ("q2", "Was lebt im Fluss?", "Fische")]),
        ("Eine kleine Stadt liegt auf dem Hügel. Ihre Bäckerei öffnet um sechs. Die Leute mögen das Brot.",
         [("q3", "Wann öffnet die Bäckerei?", "sechs"), ("q4", "Wo liegt die Stadt?", "Hügel")]),
    ],
    "es": [
        ("El río corre hacia el norte. Es muy largo. Los peces viven en él.",
         [("q1", "¿Hacia dónde corre el río?", "norte"), ("q2", "¿Qué vive en el río?", "peces")]),
        ("Un pueblo pequeño está en la colina.\nSu panadería abre a las seis. A la gente le gusta el pan.",
         [("q3", "¿Cuándo abre la panadería?", "seis")]),
    ],
}


def sentence_breaks(context: str) -> list[list[int]]:
    """Break after each '. ' (the sentence keeps its trailing space, as XQuAD-R's breaks do)."""
    breaks, start = [], 0
    for i, ch in enumerate(context):
        if ch == "." and (i + 1 == len(context) or context[i + 1] in " \n"):
            end = min(i + 2, len(context))
            breaks.append([start, end])
            start = end
    return breaks


def write_lareqa(root: Path) -> Path:
    folder = root / "lareqa" / "xquad-r"
    folder.mkdir(parents=True)
    for lang, paragraphs in LAREQA.items():
        out = []
        for context, qas in paragraphs:
            breaks = sentence_breaks(context)
            if lang == "es" and "peces" in context:
                # Leave "Los peces viven en él." out of every sentence: q2 has no answer sentence here.
                breaks = [b for b in breaks if "peces" not in context[b[0]:b[1]]]
            out.append({
                "context": context,
                "sentence_breaks": breaks,
                "qas": [{"id": qid, "question": f" {q} ", "answers": [{"text": a, "answer_start": context.index(a)}]}
                        for qid, q, a in qas],
            })
        (folder / f"{lang}.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": out}]}, ensure_ascii=False), "utf-8")
    return root


MEWSLIX_LANGS = ("de", "en", "es")
WORDS = "river town bread hill fish north lamp stone cloud field road bridge".split()


def write_mewslix(root: Path, *, entities: int = 300, mentions: int = 40, seed: int = 0, blank_test: bool = True) -> Path:
    """Entities E0.. with made-up descriptions; per language, documents whose mentions name them."""
    rng = random.Random(seed)
    folder = root / "mewslix"
    (folder / "wikinews_mentions").mkdir(parents=True)
    (folder / "wikinews_labels").mkdir()
    names = []
    with (folder / "candidate_set_entities.jsonl").open("w", encoding="utf-8") as f:
        for i in range(entities):
            name = f"{rng.choice(WORDS).title()}{i}"
            names.append(name)
            one = f"{name} is a {rng.choice(WORDS)} near the {rng.choice(WORDS)}."
            two = f"It has {{braces}} and\na {rng.choice(WORDS)}."
            description = f"{one}  {two}" if i % 2 else one
            spans = [{"start": 0, "end": len(one)}] + ([{"start": len(one) + 2, "end": len(description)}] if i % 2 else [])
            f.write(json.dumps({"entity_id": f"Q{i}", "title": name, "description": description, "sentence_spans": spans,
                                "description_language": "en", "description_url": "u"}, ensure_ascii=False) + "\n")
    for split in ("dev", "test"):
        for lang in MEWSLIX_LANGS:
            labels, lines = {}, []
            for d in range(mentions // 2):
                a, b = rng.randrange(entities), rng.randrange(entities)
                first = f"{names[a]} met a {rng.choice(WORDS)} {{today}}."
                second = f"Then {{x}} saw {names[b]} by the {rng.choice(WORDS)}."
                text = f"{first} {second}"
                starts = (0, len(first) + 1 + second.index(names[b]))
                ents = (a, b)
                ms = []
                for j, (start, e) in enumerate(zip(starts, ents)):
                    example = f"{split}-{lang}-{d}-{j}"
                    ms.append({"example_id": example, "entity_id": f"Q{e}",
                               "mention_span": {"start": start, "end": start + len(names[e]), "text": names[e]}})
                    labels[example] = [""] if (split == "test" and blank_test) else [f"Q{e}"]
                context = {"document_title": "d", "document_url": "u", "document_id": "D", "language": lang, "text": text,
                           "sentence_spans": [{"start": 0, "end": len(first)}, {"start": len(first) + 1, "end": len(text)}]}
                lines.append(json.dumps({"context": context, "mentions": ms}, ensure_ascii=False))
            (folder / "wikinews_mentions" / f"{split}-{lang}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
            (folder / "wikinews_labels" / f"{split}-{lang}.json").write_text(json.dumps(labels), "utf-8")
    return root
