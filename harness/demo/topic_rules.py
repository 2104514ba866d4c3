"""The demo topic set's rules: which corpus lines become items, with which label (pure functions).

Rules (version `RULES_VERSION`):

- Files: every `*.yml` under `chatterbot_corpus/data/<language>/`, parsed with PyYAML's
  BaseLoader (every scalar stays text: "Yes" must not become True, nor "1963" a number).
- The label is the file's topic: its name without `.yml`, lowercased, mapped to the English
  name for the few files named otherwise (`CATEGORY_ALIASES`: `dinero` -> `money`, ...). A
  topic with no English file is not used. (The files' own `categories:` are translated and
  inconsistent, e.g. telugu's conversations.yml says "greetings", so they are not used.)
- Items: every line of every conversation (statements and responses alike), whitespace
  collapsed to single spaces; a line without a letter ("-", "1963") is not an item. Per
  language, each distinct line once; a line filed under two topics in one language is dropped
  from both (it has no single right answer).
- English topics with fewer than `min_topic_items` items are not used in any language.
  English is split per topic by the order of the items' SHA-256: 20 % test, 20 % dev, the
  rest train (at least one item each).
- Language checks, per item of a non-English file, in this order:
  1. a line identical (case-folded) to an English line is untranslated: dropped;
  2. languages written in a non-Latin script (`SCRIPTS`): a line with fewer than half of its
     letters in that script is not in the language: dropped;
  3. Latin-script languages: a line of at least 3 words, at least 90 % of which occur in the
     English files' vocabulary, reads as English: dropped.
  A file that loses more than half of its items this way is not in the claimed language and is
  left out whole (in 1.3.3, `swedish/conversations.yml` is the English file). A language needs
  `min_items` items in at least `min_topics` topics, else it is left out.
- `hinglish` (Hindi-English mixed in Latin script) has no language code and no script to check
  it by, and is not used.
- Files are sorted by (label, text), code-point order; the manifest records every count and
  the reason for each file or language left out. Nothing depends on time or paths, so two
  builds from the same package are byte-identical.
- As the other languages' files translate the English ones, a test line in German is often
  the translation of an English training line: this measures whether the English decision
  boundaries carry over to translations, an easier test than unseen items.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from xharness.hashing import sha256_bytes

RULES_VERSION = 1
TEST_FRACTION = 0.2
DEV_FRACTION = 0.2

# Unicode ranges of the script each non-Latin language is written in.
_ARABIC = "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff"
_CYRILLIC = "\u0400-\u04ff"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
SCRIPTS: Mapping[str, str] = MappingProxyType(
    {
        "bn": "\u0980-\u09ff", "fa": _ARABIC, "he": "\u0590-\u05ff", "hi": "\u0900-\u097f", "ja": "\u3040-\u30ff" + _HAN,
        "ko": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f", "mr": "\u0900-\u097f", "or": "\u0b00-\u0b7f", "ru": _CYRILLIC,
        "ta": "\u0b80-\u0bff", "te": "\u0c00-\u0c7f", "th": "\u0e00-\u0e7f", "uk": _CYRILLIC, "ur": _ARABIC,
        "zh": _HAN, "zh-hant": _HAN,
    }
)

# File names that are not the English file's name for the same topic.
CATEGORY_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "ia": "ai", "dinero": "money", "emociones": "emotion", "emotions": "emotion", "psicologia": "psychology",
        "perfilbot": "botprofile", "profile": "botprofile", "coversations": "conversations",
        "greeting": "greetings", "sport": "sports", "computer": "computers",
    }
)

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
ENGLISH_MIN_WORDS = 3
ENGLISH_VOCAB_SHARE = 0.9
FILE_REJECT_SHARE = 0.5
SCRIPT_SHARE = 0.5


def clean(text: str) -> str:
    """One dialogue line as one line of text: whitespace runs (newlines, tabs) become one space."""
    return " ".join(str(text).split())


def has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def words(text: str) -> list[str]:
    """Case-folded words of letters (apostrophes inside a word kept: "don't")."""
    return _WORD.findall(text.casefold())


def in_script(text: str, ranges: str) -> bool:
    """True when at least half of the text's letters are in the character ranges `ranges`."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    inside = re.compile(f"[{ranges}]")
    return sum(1 for ch in letters if inside.match(ch)) / len(letters) >= SCRIPT_SHARE


def reads_as_english(text: str, vocabulary: frozenset[str] | set[str]) -> bool:
    """At least 3 words, at least 90 % of them in the English files' vocabulary."""
    tokens = words(text)
    if len(tokens) < ENGLISH_MIN_WORDS:
        return False
    return sum(1 for t in tokens if t in vocabulary) / len(tokens) >= ENGLISH_VOCAB_SHARE


def topic_of(path: Path) -> str:
    """The topic label of a corpus file: its lowercased stem, mapped to the English file's name."""
    stem = path.stem.lower()
    return CATEGORY_ALIASES.get(stem, stem)


def fold(text: str) -> str:
    """The form two lines are compared in: NFC, case-folded."""
    return unicodedata.normalize("NFC", text).casefold()


@dataclass
class FileCheck:
    """What the language checks made of one file."""

    kept: list[str]
    dropped: dict[str, int] = field(default_factory=dict)
    rejected: str | None = None  # why the whole file was left out


def check_file(
    lines: list[str], *, lang: str, english_lines: set[str] | frozenset[str], english_vocabulary: set[str] | frozenset[str]
) -> FileCheck:
    """Apply the per-item language checks to one non-English file's distinct lines (see the module docstring)."""
    script = SCRIPTS.get(lang)
    kept: list[str] = []
    dropped = {"untranslated": 0, "wrong script": 0, "reads as English": 0}
    for line in lines:
        if fold(line) in english_lines:
            dropped["untranslated"] += 1
        elif script is not None and not in_script(line, script):
            dropped["wrong script"] += 1
        elif script is None and reads_as_english(line, english_vocabulary):
            dropped["reads as English"] += 1
        else:
            kept.append(line)
    dropped = {reason: n for reason, n in dropped.items() if n}
    lost = sum(dropped.values())
    if lines and lost > FILE_REJECT_SHARE * len(lines):
        reasons = ", ".join(f"{n} {reason}" for reason, n in dropped.items())
        return FileCheck([], dropped, f"{lost} of {len(lines)} lines failed the language checks ({reasons})")
    return FileCheck(kept, dropped)


def unambiguous(by_topic: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Each topic's lines, sorted, without the lines that occur under another topic too."""
    seen: dict[str, int] = {}
    for lines in by_topic.values():
        for line in lines:
            seen[line] = seen.get(line, 0) + 1
    return {topic: sorted(line for line in lines if seen[line] == 1) for topic, lines in sorted(by_topic.items())}


def split_english(by_topic: Mapping[str, list[str]]) -> dict[str, list[tuple[str, str]]]:
    """(text, label) rows of train, dev and test: per topic, by SHA-256 order, 20 % test, 20 % dev."""
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "dev": [], "test": []}
    for topic, lines in sorted(by_topic.items()):
        ordered = sorted(lines, key=lambda t: sha256_bytes(t.encode("utf-8")))
        n_test = max(1, round(TEST_FRACTION * len(ordered)))
        n_dev = max(1, round(DEV_FRACTION * len(ordered)))
        splits["test"] += [(t, topic) for t in ordered[:n_test]]
        splits["dev"] += [(t, topic) for t in ordered[n_test:n_test + n_dev]]
        splits["train"] += [(t, topic) for t in ordered[n_test + n_dev:]]
    return {name: sorted(rows, key=lambda r: (r[1], r[0])) for name, rows in splits.items()}


def tsv(rows: list[tuple[str, str]]) -> str:
    return "text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in sorted(rows, key=lambda r: (r[1], r[0])))
