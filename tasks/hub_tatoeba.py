"""Tatoeba from Hugging Face data sets: the schemas of MTEB's and XTREME's copies of LASER's test set.

- `mteb/tatoeba-bitext-mining` (MTEB's `TatoebaBitextMining`): one configuration per pair, named
  `{laser}-eng` with LASER's three-letter code (`deu-eng`, `cmn-eng`); split `test`; columns
  `sentence1` (the other language, LASER's `tatoeba.{laser}-eng.{laser}`) and `sentence2` (English).
- `google/xtreme` (XTREME's loader, huggingface/datasets `datasets/xtreme/xtreme.py`): among the
  benchmark's other tasks, one configuration per language, `tatoeba.{laser}` (`tatoeba.deu`); split
  `validation`; columns `source_sentence` (LASER's `.{laser}` file, one row per line, the line's
  newline kept), `target_sentence` (LASER's `.eng`), `source_lang` (`deu`) and `target_lang` (`eng`).
  Only the `tatoeba.*` configurations are read; the set's other tasks are not Tatoeba.

Each reader returns the payload of `Tatoeba.load_language` — (English sentences, other sentences),
edge whitespace stripped as for the files — so a copy holding LASER's sentences gives LASER's numbers
item for item, and the fingerprint of the full columns (before `--limit`) equals the files' hash.
"""

from __future__ import annotations

from typing import Any, ClassVar

from xharness.errors import XharnessError
from xharness.tasks.base import LanguageData
from xharness.tasks.hub_readers import HubReader, hub_files, texts_fingerprint
from xharness.tasks.languages import LASER_TO_SHORT, SHORT_TO_LASER


def _texts(texts: list[Any], where: str) -> list[str]:
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise XharnessError(f"{where}: row {i + 1} holds {type(text).__name__}, not text")
        if not text.strip():
            raise XharnessError(f"{where}: row {i + 1} is blank (every row must hold a sentence)")
    return texts


def _as_line(text: str) -> str:
    """The text as its file line: XTREME's rows keep the line's newline, MTEB's do not."""
    return text[:-1] if text.endswith("\n") else text


class _TatoebaPairs(HubReader):
    """One configuration per language pair; two text columns, the other language first."""

    split: ClassVar[str]
    columns: ClassVar[tuple[str, str]]  # (other language, English)

    def _config(self, lang: str) -> str:
        raise NotImplementedError

    def _code(self, config: str) -> str | None:
        """The LASER code a configuration holds, or None for a configuration of something else."""
        raise NotImplementedError

    def languages(self) -> list[str]:
        codes = (self._code(config) for config in self.hub.configs())
        return sorted({LASER_TO_SHORT.get(code, code) for code in codes if code})

    def load_language(self, lang: str) -> LanguageData:
        config = self._config(lang)
        self.hub.require_columns(config, self.split, self.columns)
        where = self.hub.label(config)
        other = _texts(self.hub.column(config, self.split, self.columns[0]), where)
        english = _texts(self.hub.column(config, self.split, self.columns[1]), where)
        if len(other) != len(english):  # cannot happen in one table; kept for a hand-made copy's sake
            raise XharnessError(f"{where}: {len(other)} other-language rows but {len(english)} English rows")
        # Hashed as the files would be (one line per row), before --limit, as the file reader does.
        fingerprint = texts_fingerprint(map(_as_line, other), map(_as_line, english), extra=self.task.limit)
        if self.task.limit is not None:
            other, english = other[: self.task.limit], english[: self.task.limit]
        return LanguageData(
            payload=([t.strip() for t in english], [t.strip() for t in other]),
            fingerprint=fingerprint,
            files=hub_files(self.hub, config, self.split),
            summary={"hub": self.hub.provenance(config, self.split)},
        )


class MtebTatoeba(_TatoebaPairs):
    names = ("mteb/tatoeba-bitext-mining",)
    schema_source = "huggingface.co/datasets/mteb/tatoeba-bitext-mining (configs `xxx-eng`, split test, sentence1/sentence2)"
    split = "test"
    columns = ("sentence1", "sentence2")

    @classmethod
    def recognises_configs(cls, configs: list[str]) -> bool:
        return bool(configs) and all(c.endswith("-eng") and c[:-4] in LASER_TO_SHORT for c in configs)

    def _config(self, lang: str) -> str:
        return f"{SHORT_TO_LASER.get(lang, lang)}-eng"

    def _code(self, config: str) -> str | None:
        return config[: -len("-eng")] if config.endswith("-eng") else None


class XtremeTatoeba(_TatoebaPairs):
    names = ("google/xtreme",)
    schema_source = (
        "huggingface/datasets datasets/xtreme/xtreme.py (configs `tatoeba.xxx`, split validation, "
        "source_sentence = the other language, target_sentence = English)"
    )
    limitation = "holds only XTREME's Tatoeba languages, its tatoeba.xxx configurations, not all 112 of LASER's"
    split = "validation"
    columns = ("source_sentence", "target_sentence")

    @classmethod
    def recognises_configs(cls, configs: list[str]) -> bool:
        return any(c.startswith("tatoeba.") for c in configs)

    def _config(self, lang: str) -> str:
        return f"tatoeba.{SHORT_TO_LASER.get(lang, lang)}"

    def _code(self, config: str) -> str | None:
        return config[len("tatoeba."):] if config.startswith("tatoeba.") else None
