"""Language codes: LASER's ISO 639-3 file codes and the short codes results are keyed by.

Results use XTREME's two-letter codes (ISO 639-1 where one exists, e.g. `zh` for LASER's
`cmn`, `fa` for `pes`, `sw` for `swh`) and keep LASER's three-letter code where no
two-letter code exists (`ang`, `yue`, ...). Either form is accepted on the command line.
"""

from __future__ import annotations

import re

# A FLORES-200 / FLORES+ language code: ISO 639-3, ISO 15924 script, and FLORES+'s optional glottocode.
FLORES_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}(_[a-z]{4}[0-9]{4})?$")

# LASER file code -> result code.
LASER_TO_SHORT: dict[str, str] = {
    "afr": "af", "amh": "am", "ang": "ang", "ara": "ar", "arq": "arq", "arz": "arz",
    "ast": "ast", "awa": "awa", "aze": "az", "bel": "be", "ben": "bn", "ber": "ber",
    "bos": "bs", "bre": "br", "bul": "bg", "cat": "ca", "cbk": "cbk", "ceb": "ceb",
    "ces": "cs", "cha": "cha", "cmn": "zh", "cor": "kw", "csb": "csb", "cym": "cy",
    "dan": "da", "deu": "de", "dsb": "dsb", "dtp": "dtp", "ell": "el", "epo": "eo",
    "est": "et", "eus": "eu", "fao": "fo", "fin": "fi", "fra": "fr", "fry": "fy",
    "gla": "gd", "gle": "ga", "glg": "gl", "gsw": "gsw", "heb": "he", "hin": "hi",
    "hrv": "hr", "hsb": "hsb", "hun": "hu", "hye": "hy", "ido": "io", "ile": "ie",
    "ina": "ia", "ind": "id", "isl": "is", "ita": "it", "jav": "jv", "jpn": "ja",
    "kab": "kab", "kat": "ka", "kaz": "kk", "khm": "km", "kor": "ko", "kur": "ku",
    "kzj": "kzj", "lat": "la", "lfn": "lfn", "lit": "lt", "lvs": "lv", "mal": "ml",
    "mar": "mr", "max": "max", "mhr": "mhr", "mkd": "mk", "mon": "mn", "nds": "nds",
    "nld": "nl", "nno": "nn", "nob": "nb", "nov": "nov", "oci": "oc", "orv": "orv",
    "pam": "pam", "pes": "fa", "pms": "pms", "pol": "pl", "por": "pt", "ron": "ro",
    "rus": "ru", "slk": "sk", "slv": "sl", "spa": "es", "sqi": "sq", "srp": "sr",
    "swe": "sv", "swg": "swg", "swh": "sw", "tam": "ta", "tat": "tt", "tel": "te",
    "tgl": "tl", "tha": "th", "tuk": "tk", "tur": "tr", "tzl": "tzl", "uig": "ug",
    "ukr": "uk", "urd": "ur", "uzb": "uz", "vie": "vi", "war": "war", "wuu": "wuu",
    "xho": "xh", "yid": "yi", "yue": "yue", "zsm": "ms",
}
SHORT_TO_LASER: dict[str, str] = {short: laser for laser, short in LASER_TO_SHORT.items()}

# XTREME's 36 Tatoeba languages, in XTREME's order.
XTREME_TATOEBA: tuple[str, ...] = (
    "ar", "he", "vi", "id", "jv", "tl", "eu", "ml", "ta", "te", "af", "nl", "de", "el",
    "bn", "hi", "mr", "ur", "fa", "fr", "it", "pt", "es", "bg", "ru", "ja", "ka", "ko",
    "th", "sw", "zh", "kk", "tr", "et", "fi", "hu",
)


def split_codes(values) -> tuple[str, ...]:
    """What `-l` options gave, one code each: `-l de,fr` and `-l de -l fr` alike.

    Example:
        >>> split_codes(["de,fr", " ru "])
        ('de', 'fr', 'ru')
    """
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def to_short(code: str) -> str | None:
    """The result code for a two- or three-letter code, or None when it is unknown."""
    code = code.strip().lower().replace("_", "-")
    if code in SHORT_TO_LASER:
        return code
    if code in LASER_TO_SHORT:
        return LASER_TO_SHORT[code]
    return None


# ISO 639-3 codes that name the same language in another dataset's coding: a macrolanguage or an
# older code on one side, the individual language FLORES-200 / FLORES+ / NTREX-128 file under on
# the other (LASER's Tatoeba `cmn` is FLORES-200's `zho` and FLORES+'s `cmn`; its `pes` is NTREX's
# `fas`). Used both ways; where a code reaches two files (`zh`: Simplified and Traditional), the
# user is asked to pick one.
SAME_LANGUAGE: tuple[tuple[str, ...], ...] = (
    ("zho", "cmn"), ("ara", "arb"), ("est", "ekk"), ("fas", "pes"), ("msa", "zsm"), ("swa", "swh"),
    ("lav", "lvs"), ("sqi", "als"), ("aze", "azj"), ("uzb", "uzn"), ("mon", "khk"), ("yid", "ydd"),
    ("tgl", "fil"), ("nep", "npi"), ("orm", "gaz"), ("pus", "pbt"), ("kur", "kmr"), ("grn", "gug"),
)
_SAME: dict[str, set[str]] = {}
for _group in SAME_LANGUAGE:
    for _code in _group:
        _SAME.setdefault(_code, set()).update(_group)


def language_part(code: str) -> str:
    """The ISO 639-3 part of a file code: `deu_Latn` -> `deu`, `eng-US` -> `eng`, `apc_Arab_nort3139` -> `apc`."""
    return code.replace("-", "_").split("_")[0].lower()


def match_code(code: str, available: list[str], *, task: str) -> str | None:
    """The one available file code a user's code names, or None when it names none.

    Accepted: the file code itself (any case), a two-letter code of `LASER_TO_SHORT`'s values or a
    three-letter code (also through `SAME_LANGUAGE`). A bare three-letter file code wins over its
    regional variants (NTREX's `fra` over `fra-CA`); two or more matches otherwise are refused.

    Example:
        >>> match_code("de", ["deu_Latn", "fra_Latn"], task="flores"), match_code("fr", ["fra", "fra-CA"], task="ntrex")
        ('deu_Latn', 'fra')
        >>> match_code("zh", ["zho_Hans", "zho_Hant"], task="flores")
        Traceback (most recent call last):
        ...
        xharness.errors.XharnessError: language code 'zh' is ambiguous for task flores: it names zho_Hans, zho_Hant; pass one of them
    """
    from xharness.errors import XharnessError

    wanted = code.strip()
    exact = [c for c in available if c.lower() == wanted.lower()]
    if exact:
        return exact[0]
    key = wanted.lower().replace("_", "-")
    three = SHORT_TO_LASER.get(key) or {"en": "eng"}.get(key, key)  # Tatoeba's table has no English
    if not (len(three) == 3 and three.isalpha()):
        return None
    names = {three} | _SAME.get(three, set())
    found = [c for c in available if language_part(c) in names]
    bare = [c for c in found if c.lower() in names]
    if len(bare) == 1:
        return bare[0]
    if len(found) > 1:
        raise XharnessError(f"language code '{code}' is ambiguous for task {task}: it names {', '.join(found)}; pass one of them")
    return found[0] if found else None
