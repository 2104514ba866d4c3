"""Language codes: LASER's ISO 639-3 file codes and the short codes results are keyed by.

Results use XTREME's two-letter codes (ISO 639-1 where one exists, e.g. `zh` for LASER's
`cmn`, `fa` for `pes`, `sw` for `swh`) and keep LASER's three-letter code where no
two-letter code exists (`ang`, `yue`, ...). Either form is accepted on the command line.
"""

from __future__ import annotations

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


def to_short(code: str) -> str | None:
    """The result code for a two- or three-letter code, or None when it is unknown."""
    code = code.strip().lower().replace("_", "-")
    if code in SHORT_TO_LASER:
        return code
    if code in LASER_TO_SHORT:
        return LASER_TO_SHORT[code]
    return None
