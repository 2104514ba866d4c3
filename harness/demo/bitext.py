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

The cleaning and selection rules are in `bitext_rules.py`; the cached, atomic build in `builds.py`.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any

from xharness.demo.bitext_rules import RULES_VERSION, catalogue_entries, make_candidate, select_pairs
from xharness.demo.builds import MANIFEST_NAME, build_dir, build_fingerprint, build_once, manifest_header
from xharness.errors import XharnessError
from xharness.fileio import atomic_write_json, atomic_write_text
from xharness.hashing import sha256_file

SOURCE_PACKAGE = "django"
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
    return build_fingerprint(
        f"{SOURCE_PACKAGE}=={version};demo-rules={RULES_VERSION}",
        [sorted(languages.items()), min_words, min_pairs],
        default=_is_default(languages, min_words, min_pairs),
    )


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
    return manifest_header(
        MANIFEST_FORMAT, SOURCE_PACKAGE, version, rules_version=RULES_VERSION,
        fingerprint=_fingerprint(version, languages, min_words, min_pairs),
        params={"min_words": min_words, "min_pairs": min_pairs, "requested": dict(languages)},
    )


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


def default_demo_dir(version: str, languages: Mapping[str, str], min_words: int, min_pairs: int) -> Path:
    """`cache_dir()/demo/tatoeba-django-<version>`, with a parameter hash when not the defaults."""
    return build_dir(f"tatoeba-{SOURCE_PACKAGE}-{version}", _fingerprint(version, languages, min_words, min_pairs))


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
