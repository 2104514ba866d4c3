"""The demo's bitext: a Tatoeba-layout test set of real human translations, built at first run.

The sentences come from the translation catalogues that ship inside the installed django wheel
(English `msgid` -> translated `msgstr`, written by django's translators, BSD-3-Clause). The
repository holds only this builder; the sentences themselves are made on the user's machine.

Layout of the result (LASER's Tatoeba, which the retrieval tasks read)::

    <cache>/demo/tatoeba-django-<version>/
        tatoeba.deu-eng.deu   line i is the German translation of ...
        tatoeba.deu-eng.eng   ... line i of the English file
        ...
        MANIFEST.json         source, parameters, per-language pair counts and file hashes

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

import gettext
import html
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

from xharness.errors import XharnessError
from xharness.hashing import sha256_bytes, sha256_file
from xharness.fileio import atomic_write_json, atomic_write_text
from xharness.paths import cache_dir

# Bump when any rule above changes: it is part of the data fingerprint and of the manifest,
# so results made from differently cleaned sentences never compare as equal data.
RULES_VERSION = 1
SOURCE_PACKAGE = "django"
MANIFEST_NAME = "MANIFEST.json"
MANIFEST_FORMAT = "xharness-demo-tatoeba"
DEFAULT_MIN_WORDS = 5
DEFAULT_MIN_PAIRS = 30

# LASER Tatoeba code -> django locale. The first 14 are languages of Google's multilingual USE
# (ar, zh, nl, fr, de, it, ja, ko, pl, pt, es, th, tr, ru + en), where a USE-style model should
# transfer; the rest are outside it, so the demo also shows transfer that fails.
DEMO_LANGUAGES: Mapping[str, str] = MappingProxyType(
    {
        "ara": "ar",
        "cmn": "zh_Hans",
        "deu": "de",
        "fra": "fr",
        "ita": "it",
        "jpn": "ja",
        "kor": "ko",
        "nld": "nl",
        "pol": "pl",
        "por": "pt_BR",  # django's pt_BR catalogue is the fuller Portuguese one
        "rus": "ru",
        "spa": "es",
        "tha": "th",
        "tur": "tr",
        # outside the USE-multilingual set
        "ell": "el",
        "fin": "fi",
        "heb": "he",
        "hin": "hi",
        "hun": "hu",
        "ind": "id",
        "kat": "ka",
        "pes": "fa",
        "ukr": "uk",
        "vie": "vi",
    }
)

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


# ---------------------------------------------------------------------------------------------
# Reading django's catalogues.


def locate_django() -> tuple[Path, str]:
    """The installed django package's folder and its version, without importing django."""
    spec = find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise XharnessError(
            "the demo data is built from django's translation catalogues, but django is not "
            "installed (pip install 'django>=4.2')"
        )
    root = Path(list(spec.submodule_search_locations)[0])
    try:
        version = metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:
        raise XharnessError(f"django at {root} has no package metadata; reinstall it (pip install 'django>=4.2')") from None
    return root, version


def find_catalogues(root: Path, locale: str) -> list[Path]:
    """Every compiled catalogue of django's core and contrib apps for `locale`, sorted."""
    paths = list((root / "conf" / "locale" / locale / "LC_MESSAGES").glob("*.mo"))
    paths += (root / "contrib").glob(f"*/locale/{locale}/LC_MESSAGES/*.mo")
    return sorted(paths, key=lambda p: p.relative_to(root).as_posix())


def read_catalogue(path: Path) -> tuple[dict[Any, str], int]:
    """The catalogue's entries and the index of its plural form for n = 1."""
    try:
        with open(path, "rb") as f:
            translations = gettext.GNUTranslations(f)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise XharnessError(f"cannot read the translation catalogue {path}: {exc}") from None
    # `_catalog` is the only way the stdlib exposes all entries; it has been stable since Python 2.
    return dict(translations._catalog), int(translations.plural(1))  # type: ignore[attr-defined]


def language_pairs(root: Path, locale: str, *, min_words: int) -> tuple[list[tuple[str, str]], int]:
    """(english, translation) pairs of one locale and the number of catalogues read."""
    catalogues = find_catalogues(root, locale)
    candidates = []
    for path in catalogues:
        relative = path.relative_to(root).as_posix()
        catalog, plural_index = read_catalogue(path)
        for key, msgstr in catalogue_entries(catalog, plural_index):
            cand = make_candidate(key, msgstr, relative, min_words=min_words)
            if cand is not None:
                candidates.append(cand)
    return select_pairs(candidates), len(catalogues)


# ---------------------------------------------------------------------------------------------
# Building the folder.


def _resolve_languages(languages: Mapping[str, str] | Iterable[str]) -> dict[str, str]:
    if isinstance(languages, Mapping):
        chosen = dict(languages)
    else:
        chosen = {}
        for code in languages:
            if code not in DEMO_LANGUAGES:
                known = ", ".join(sorted(DEMO_LANGUAGES))
                raise XharnessError(f"no demo data for language {code!r}; known: {known}")
            chosen[code] = DEMO_LANGUAGES[code]
    if not chosen:
        raise XharnessError("no languages asked for the demo data")
    for code, locale in chosen.items():
        # Codes become file names and locales become path parts: keep both plain.
        if not re.fullmatch(r"[a-z]{2,8}", code) or code == "eng":
            raise XharnessError(f"bad demo language code {code!r}: expected a LASER code such as 'deu'")
        if not re.fullmatch(r"[A-Za-z]{2,3}(_[A-Za-z]{2,4})?", locale):
            raise XharnessError(f"bad django locale {locale!r} for {code!r}: expected e.g. 'de' or 'zh_Hans'")
    return dict(sorted(chosen.items()))


def _is_default(languages: Mapping[str, str], min_words: int, min_pairs: int) -> bool:
    return dict(languages) == dict(DEMO_LANGUAGES) and (min_words, min_pairs) == (DEFAULT_MIN_WORDS, DEFAULT_MIN_PAIRS)


def _fingerprint(version: str, languages: Mapping[str, str], min_words: int, min_pairs: int) -> str:
    base = f"{SOURCE_PACKAGE}=={version};demo-rules={RULES_VERSION}"
    if _is_default(languages, min_words, min_pairs):
        return base
    params = json.dumps([sorted(languages.items()), min_words, min_pairs]).encode()
    return f"{base};params={sha256_bytes(params)[:12]}"


def demo_source_fingerprint() -> str:
    """What decides the default demo data: the django release and the cleaning rules.

    Example: ``"django==5.2.19;demo-rules=1"``. A build with non-default languages or
    thresholds records a longer fingerprint (with a parameter hash) in its manifest.
    """
    _, version = locate_django()
    return _fingerprint(version, DEMO_LANGUAGES, DEFAULT_MIN_WORDS, DEFAULT_MIN_PAIRS)


def _pair_file_names(code: str) -> tuple[str, str]:
    return f"tatoeba.{code}-eng.{code}", f"tatoeba.{code}-eng.eng"


def _expected_header(version: str, languages: Mapping[str, str], min_words: int, min_pairs: int) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "source": {"package": SOURCE_PACKAGE, "version": version, "license": "BSD-3-Clause"},
        "rules_version": RULES_VERSION,
        "fingerprint": _fingerprint(version, languages, min_words, min_pairs),
        "min_words": min_words,
        "min_pairs": min_pairs,
        "requested": dict(languages),
    }


def read_valid_manifest(folder: Path, expected: Mapping[str, Any]) -> dict[str, Any] | None:
    """The folder's manifest if it describes a complete build made with `expected`, else None."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or any(manifest.get(k) != v for k, v in expected.items()):
        return None
    languages = manifest.get("languages")
    if not isinstance(languages, dict) or not languages:
        return None
    try:
        for entry in languages.values():
            for name, digest in entry["sha256"].items():
                if sha256_file(Path(folder) / name) != digest:
                    return None
    except (OSError, KeyError, TypeError, AttributeError):
        return None
    return manifest


def _looks_like_demo_folder(folder: Path) -> bool:
    # Replacing a folder deletes it: only ever do that to one that holds nothing but demo files.
    return all(
        p.name == MANIFEST_NAME or p.name.startswith("tatoeba.") or p.name.startswith(".")
        for p in folder.iterdir()
    )


def _write_build(folder: Path, root: Path, header: Mapping[str, Any]) -> None:
    languages: dict[str, Any] = {}
    left_out: dict[str, Any] = {}
    catalogues_found = 0
    for code, locale in header["requested"].items():
        pairs, n_catalogues = language_pairs(root, locale, min_words=header["min_words"])
        catalogues_found += n_catalogues
        if len(pairs) < header["min_pairs"]:
            reason = "no catalogues" if n_catalogues == 0 else f"fewer than {header['min_pairs']} pairs"
            left_out[code] = {"locale": locale, "pairs": len(pairs), "reason": reason}
            continue
        digests = {}
        for name, lines in zip(_pair_file_names(code), zip(*((t, e) for e, t in pairs))):
            atomic_write_text(folder / name, "".join(line + "\n" for line in lines))
            digests[name] = sha256_file(folder / name)
        languages[code] = {"locale": locale, "pairs": len(pairs), "catalogues": n_catalogues, "sha256": digests}
    if catalogues_found == 0:
        locales = ", ".join(header["requested"].values())
        raise XharnessError(f"django {header['source']['version']} at {root} ships no translation catalogues for {locales}")
    if not languages:
        raise XharnessError(
            f"no demo language reached {header['min_pairs']} sentence pairs (min_words={header['min_words']}); "
            "lower min_words or min_pairs"
        )
    manifest = {
        **header,
        "layout": "LASER Tatoeba: tatoeba.xxx-eng.xxx line i translates tatoeba.xxx-eng.eng line i",
        "languages": languages,
        "left_out": left_out,
    }
    # The manifest goes last: a folder with a manifest whose hashes match is a finished build.
    atomic_write_json(folder / MANIFEST_NAME, manifest)


def _move_into_place(built: Path, out: Path, expected: Mapping[str, Any]) -> Path:
    """Rename the finished build to `out`, setting aside (then deleting) an invalid old one."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "build")
    try:
        os.rename(built, out)
    except OSError:
        # Another process finished first; its build is as good as ours if it is valid.
        if read_valid_manifest(out, expected) is None:
            raise
        shutil.rmtree(built, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def default_demo_dir(version: str, languages: Mapping[str, str], min_words: int, min_pairs: int) -> Path:
    """`cache_dir()/demo/tatoeba-django-<version>`, with a parameter hash when not the defaults."""
    name = f"tatoeba-{SOURCE_PACKAGE}-{version}"
    if not _is_default(languages, min_words, min_pairs):
        # Other parameters get their own folder rather than evicting the default build.
        name += "-" + _fingerprint(version, languages, min_words, min_pairs).rsplit("=", 1)[-1]
    return cache_dir() / "demo" / name


def build_demo_tatoeba(
    out_dir: Path | None = None,
    *,
    languages: Mapping[str, str] | Iterable[str] = DEMO_LANGUAGES,
    min_words: int = DEFAULT_MIN_WORDS,
    min_pairs: int = DEFAULT_MIN_PAIRS,
) -> Path:
    """Build (or reuse) the demo Tatoeba folder from the installed django's catalogues.

    Args:
        out_dir: the folder to make; default `default_demo_dir(...)` under the cache.
        languages: LASER code -> django locale, or LASER codes from `DEMO_LANGUAGES`.
        min_words: fewest words a cleaned English sentence must have.
        min_pairs: fewest pairs a language needs to be written (others are listed as left out).

    Returns:
        The folder. An existing folder whose manifest matches this django version, these rules
        and parameters, and whose files match their recorded hashes, is returned untouched.
        Anything else there (a stale or damaged build) is rebuilt in a temporary sibling
        folder and renamed into place, so no reader ever sees half a build.

    Raises:
        XharnessError: django missing, no catalogues, bad parameters, or `out_dir` holding
            files that are not demo data.

    Example:
        >>> folder = build_demo_tatoeba()  # doctest: +SKIP
        >>> sorted(p.name for p in folder.iterdir())[:3]  # doctest: +SKIP
        ['MANIFEST.json', 'tatoeba.ara-eng.ara', 'tatoeba.ara-eng.eng']
    """
    if min_words < 1 or min_pairs < 1:
        raise XharnessError(f"min_words and min_pairs must be at least 1, got {min_words} and {min_pairs}")
    chosen = _resolve_languages(languages)
    root, version = locate_django()
    out = Path(out_dir) if out_dir is not None else default_demo_dir(version, chosen, min_words, min_pairs)
    out = out.expanduser().absolute()
    expected = _expected_header(version, chosen, min_words, min_pairs)
    return build_once(
        out, expected, looks_like=_looks_like_demo_folder, write=lambda built: _write_build(built, root, expected), what="the demo data"
    )


def build_once(out: Path, expected: dict, *, looks_like: Callable[[Path], bool], write: Callable[[Path], None], what: str) -> Path:
    """Return `out` if it holds a valid build for `expected`; else build into a hidden sibling and swap it in.

    A folder holding anything but demo files (per `looks_like`) is never replaced.
    """
    if read_valid_manifest(out, expected) is not None:
        return out
    if out.exists() and not (out.is_dir() and looks_like(out)):
        raise XharnessError(f"refusing to build {what} into {out}: it holds files that are not demo data")
    out.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        write(built)
        return _move_into_place(built, out, expected)
    finally:
        if built.exists():
            shutil.rmtree(built, ignore_errors=True)
