"""The demo bitext's rules: how a django catalogue entry becomes a sentence pair (pure functions on strings).

How a catalogue entry becomes a pair (rules version `RULES_VERSION`):

- Every compiled catalogue (`*.mo`: `django.mo` and `djangojs.mo`) of django's core and of each
  contrib app, for the language's django locale.
- The English side is the `msgid` with its gettext context (`ctx\\x04msgid`) removed.
- Plural entries: the singular `msgid` paired with the form the language uses for n = 1 (its own
  `Plural-Forms` rule evaluated at 1). Form 0 would be wrong for Arabic, whose form 0 is n = 0.
  The plural `msgid` is not used: it would nearly duplicate the singular.
- Dropped: the header, untranslated entries (`msgstr` empty or equal to `msgid`).
- Both sides are cleaned alike by `clean_text`: markup tags removed (inline tags keep their text),
  printf (`%(name)s`, `%s`, `%d`, ...) and brace (`{name}`, `{0}`, `{}`) placeholders removed,
  the quotes or brackets they leave empty removed, entities decoded, whitespace collapsed.
- Kept when the cleaned English has at least `min_words` words, the cleaned translation is not
  empty, differs from the English (a copy is no translation), and neither side still holds
  `<`, `>`, `{`, `}` or `%(` (what the rules could not clean safely).
- Order: sorted by cleaned English (code-point order), then catalogue path, then raw key. In that
  order the first pair wins for a repeated English sentence *and* for a repeated translation, so
  every sentence occurs once per file and retrieval has one right answer per query.
- A language with fewer than `min_pairs` pairs is left out and listed in the manifest.
"""


from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Bump when any rule above changes: it is part of the data fingerprint and of the manifest,
# so results made from differently cleaned sentences never compare as equal data.
RULES_VERSION = 1

# ---------------------------------------------------------------------------------------------
# Cleaning: pure functions on strings.

# Marks where something was removed, so the tidy-up can tell a gap we made from the translator's
# own spacing and punctuation (any already in the text are removed first). A hard gap stood for
# content (a placeholder, <br>, <meta ...>) and becomes a space; a soft gap is where an inline tag
# was, and vanishes, so "<a>リリースノート</a>を表示" stays unspaced.
_GAP = "\x00"
_SOFT = "\x01"

# Inline elements wrap words that belong to the sentence ("<a>release notes</a>"): drop the tags,
# keep the words. Any other tag (<br>, <meta ...>, <p>) stands for a break or for content of its own.
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code dfn em i kbd mark q s samp small span strong sub sup tt u var".split()
)
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")
# printf as Python's % operator and django's JS `interpolate` read it; no space flag, so a
# literal "50% sure" in a non-format string is left alone.
_PRINTF = re.compile(r"%%|%(?:\([^()]*\))?[-#0+]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[sdifrxXeEgGcuoa]")
_BRACE = re.compile(r"\{[^{}]*\}")
# Gaps joined only by punctuation are one gap ("%(a)s, %(b)s" or "`%(app)s.%(model)s`").
_GAP_RUN = re.compile(_GAP + r"(?:[\s.,:;/_\-" + _SOFT + "]*" + _GAP + ")+")
_OPENERS = "([{（【「『“”„‚‘’«»‹›\"'`"
_CLOSERS = ")]}）】」』“”‘’«»‹›\"'`"
_SPACE = r"[ \t\u00a0\u202f" + _GAP + _SOFT + "]"
# Quotes or brackets around nothing but what was removed ("“%(obj)s”", "„<a ...>“").
_EMPTY_PAIR = re.compile(
    "[" + re.escape(_OPENERS) + "]" + _SPACE + "*[" + _GAP + _SOFT + "]" + _SPACE + "*[" + re.escape(_CLOSERS) + "]"
)
_SOFT_BY_GAP = re.compile(_SOFT + "*" + _GAP + "[" + _GAP + _SOFT + "]*")
# Punctuation that cannot open something: a gap before it takes its spaces with it
# ("Invalid page %(n)s, x" -> "Invalid page, x"), the translator's own spacing after the gap
# stays (French "%(n)s :" -> " :"). Western marks only when a space or the end follows, so
# "%(cls)s.allow_empty" keeps its dot attached to the name.
_GAP_BEFORE_PUNCT = re.compile(
    r"\s*" + _GAP + r"+(?=\s*(?:[)\]）】」』»›。、，：；！？]|[.,;:!?…،؛](?:\s|$)))"
)
_GAP_AFTER_OPENER = re.compile(r"(?<=[(\[（【「『«‹])\s*" + _GAP + r"+\s*")
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?、，。：；！？،؛]+")
# What the rules cannot clean safely; a pair holding any of it is dropped, not guessed at.
_LEFTOVER = re.compile(r"[<>{}]|%\(")

_CONTEXT_SEPARATOR = "\x04"  # gettext stores "context\x04msgid" as the key


def strip_context(key: str) -> str:
    """The msgid of a catalogue key, without its gettext context ("month name\\x04May" -> "May")."""
    return key.rsplit(_CONTEXT_SEPARATOR, 1)[-1]


def _replace_tag(match: re.Match[str]) -> str:
    return _SOFT if match.group(1).lower() in _INLINE_TAGS else _GAP


def _replace_printf(match: re.Match[str]) -> str:
    return "%" if match.group(0) == "%%" else _GAP


def _sub_until_stable(pattern: re.Pattern[str], repl: str, text: str) -> str:
    # Nested cases ("{{x}}", "(“%s”)") empty from the inside out.
    while True:
        new = pattern.sub(repl, text)
        if new == text:
            return text
        text = new


def clean_text(text: str) -> str:
    """One catalogue string as a plain sentence: no markup, placeholders, entities or extra spaces.

    Example:
        >>> clean_text('The {name} “{obj}” was added <b>successfully</b>.')
        'The was added successfully.'
        >>> clean_text('Invalid page (%(page_number)s): %(message)s')
        'Invalid page'
        >>> clean_text('Topics, references, &amp; how-to’s')
        'Topics, references, & how-to’s'
    """
    text = text.replace(_GAP, "").replace(_SOFT, "")  # the markers must mean only what we put there
    text = _TAG.sub(_replace_tag, text)
    text = _PRINTF.sub(_replace_printf, text)
    text = _sub_until_stable(_BRACE, _GAP, text)
    # Entities after tags, so an escaped "&lt;b&gt;" is text, not markup (and then fails the
    # leftover check instead of being silently removed).
    text = html.unescape(text)
    text = _GAP_RUN.sub(_GAP, text)
    text = _sub_until_stable(_EMPTY_PAIR, _GAP, text)
    text = _SOFT_BY_GAP.sub(_GAP, text).replace(_SOFT, "")
    text = _GAP_RUN.sub(_GAP, text)
    text = _GAP_BEFORE_PUNCT.sub("", text)
    text = _GAP_AFTER_OPENER.sub("", text)
    text = text.replace(_GAP, " ")
    # str.split() splits on every Unicode space (NBSP, tabs, newlines): one line, single spaces.
    text = " ".join(text.split())
    return _LEADING_PUNCT.sub("", text)


def word_count(text: str) -> int:
    """Whitespace tokens that hold a letter or digit (a lone dash or ellipsis is no word)."""
    return sum(1 for token in text.split() if any(ch.isalnum() for ch in token))


def is_clean(text: str) -> bool:
    """True when nothing the rules could not remove (markup, braces, `%(`) is left."""
    return bool(text) and _LEFTOVER.search(text) is None


@dataclass(frozen=True, order=True)
class Candidate:
    """One cleaned pair with where it came from; field order is the sort order."""

    english: str
    catalogue: str  # path relative to the django package, posix form
    key: str  # the raw msgid (with its context, if any)
    translation: str


def catalogue_entries(catalog: Mapping[Any, str], plural_index: int) -> Iterator[tuple[str, str]]:
    """(raw key, raw msgstr) of each translated entry of a `GNUTranslations._catalog`.

    Plural entries are keyed `(singular msgid, form)`; the one kept is `plural_index`, the form
    the language uses for n = 1, paired with the singular msgid.
    """
    for key, value in catalog.items():
        if isinstance(key, tuple):
            key, form = key
            if form != plural_index:
                continue
        if not key or not value or strip_context(key) == value:
            continue  # the header, or an untranslated entry
        yield key, value


def make_candidate(key: str, msgstr: str, catalogue: str, *, min_words: int) -> Candidate | None:
    """The cleaned pair for one entry, or None when the rules drop it."""
    english = clean_text(strip_context(key))
    translation = clean_text(msgstr)
    if word_count(english) < min_words or not any(ch.isalnum() for ch in translation):
        return None
    if english == translation or not (is_clean(english) and is_clean(translation)):
        return None
    return Candidate(english, catalogue, key, translation)


def select_pairs(candidates: Iterable[Candidate]) -> list[tuple[str, str]]:
    """(english, translation) in sorted order, each English and each translation used once."""
    seen_english: set[str] = set()
    seen_translation: set[str] = set()
    pairs = []
    for cand in sorted(candidates):
        if cand.english in seen_english or cand.translation in seen_translation:
            continue
        seen_english.add(cand.english)
        seen_translation.add(cand.translation)
        pairs.append((cand.english, cand.translation))
    return pairs
