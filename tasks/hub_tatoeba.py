"""Tatoeba from Hugging Face data sets: the schemas of MTEB's and XTREME's copies of LASER's test set.

- `mteb/tatoeba-bitext-mining` (MTEB's `TatoebaBitextMining`): one configuration per pair, named
  `{laser}-eng` with LASER's three-letter code (`deu-eng`, `cmn-eng`); split `test`; columns
  `sentence1` (the other language, LASER's `tatoeba.{laser}-eng.{laser}`) and `sentence2` (English).

Each reader returns the payload of `Tatoeba.load_language` — (English sentences, other sentences),
edge whitespace stripped as for the files — so a copy holding LASER's sentences gives LASER's numbers
item for item.
"""

from __future__ import annotations

from typing import Any

from xharness.errors import XharnessError
from xharness.tasks.base import LanguageData
from xharness.tasks.hub_readers import HubReader, hub_files, texts_fingerprint
from xharness.tasks.languages import LASER_TO_SHORT, SHORT_TO_LASER


def _strip(texts: list[Any], where: str) -> list[str]:
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise XharnessError(f"{where}: row {i + 1} holds {type(text).__name__}, not text")
        out.append(text.strip())
    return out


class MtebTatoeba(HubReader):
    names = ("mteb/tatoeba-bitext-mining",)
    schema_source = "huggingface.co/datasets/mteb/tatoeba-bitext-mining (configs `xxx-eng`, split test, sentence1/sentence2)"
    split = "test"
    columns = ("sentence1", "sentence2")  # other language, English

    @classmethod
    def recognises(cls, hub) -> bool:
        try:
            configs = hub.configs()
        except XharnessError:
            return False
        return bool(configs) and all(c.endswith("-eng") and c[:-4] in LASER_TO_SHORT for c in configs)

    def _config(self, lang: str) -> str:
        return f"{SHORT_TO_LASER.get(lang, lang)}-eng"

    def languages(self) -> list[str]:
        found = []
        for config in self.hub.configs():
            if config.endswith("-eng"):
                code = config[: -len("-eng")]
                found.append(LASER_TO_SHORT.get(code, code))
        return sorted(found)

    def load_language(self, lang: str) -> LanguageData:
        config = self._config(lang)
        self.hub.require_columns(config, self.split, self.columns)
        where = f"{self.hub.ref.text} config {config!r}"
        other = _strip(self.hub.column(config, self.split, self.columns[0]), where)
        english = _strip(self.hub.column(config, self.split, self.columns[1]), where)
        if self.task.limit is not None:
            other, english = other[: self.task.limit], english[: self.task.limit]
        return LanguageData(
            payload=(english, other),
            fingerprint=texts_fingerprint(other, english, extra=self.task.limit),
            files=hub_files(self.hub, config, self.split),
            summary={"hub": self.hub.provenance(config, self.split)},
        )
