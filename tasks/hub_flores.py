"""FLORES from Hugging Face data sets: the schemas of FLORES+ (OLDI) and of Meta's FLORES-200 copy.

- `openlanguagedata/flores_plus` (its data set card's `configs:` block, parquet): one configuration
  per language variety, named by its code (`deu_Latn`, `eng_Latn`, `apc_Arab_nort3139`); splits
  `dev` (997 rows) and `devtest` (1012); columns `id` (the sentence's number, shared by all
  languages), `text`, and metadata we do not read (`iso_639_3`, `iso_15924`, `glottocode`, `url`,
  `domain`, `topic`, `has_image`, `has_hyperlink`, `last_updated`).
- `facebook/flores` (its loading script `flores.py`): configurations `deu_Latn` ... (and pairs
  `deu_Latn-eng_Latn`, `all`, which we do not read); splits `dev`, `devtest`; columns `id`,
  `sentence` (the text), `URL`, `domain`, `topic`, `has_image`, `has_hyperlink`. It is a script data
  set: `datasets` 4 and later no longer run scripts, so it reads only from a cache an older
  `datasets` prepared, or from a parquet export in hub layout with those columns.

Rows are aligned by `id`, never by position (a copy may hold them in any order): every language's
rows are put in id order, English's too, and a language whose ids are not English's is refused.
The payload is `XsimTask.load_language`'s `Bitext`; the fingerprint is the files' when the rows
hold the files' lines in id order. Neither copy holds xSIM++'s augmented English.
"""

from __future__ import annotations

from typing import Any, ClassVar

from xharness.errors import XharnessError
from xharness.tasks.base import LanguageData
from xharness.tasks.hub_readers import HubReader, hub_files, texts_fingerprint
from xharness.tasks.languages import FLORES_CODE
from xharness.tasks.xsim_task import Bitext


def _id_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, str(value))


class _FloresConfigs(HubReader):
    """One configuration per FLORES code; `id` and a text column; splits dev/devtest."""

    text_column: ClassVar[str]
    limitation = "no xSIM++: the copy holds no augmented English"

    @classmethod
    def recognises_configs(cls, configs: list[str]) -> bool:
        return any(FLORES_CODE.match(c) for c in configs) and "eng_Latn" in configs

    def languages(self) -> list[str]:
        nway = self.task.direction == "nway"
        codes = [c for c in self.hub.configs() if FLORES_CODE.match(c)]
        return sorted(c for c in codes if nway or c != self.task.english_code)

    def _by_id(self, code: str) -> tuple[list[Any], list[str]]:
        """A configuration's (ids, texts) in id order; duplicate ids and blank texts refused."""
        split = self.task.split
        self.hub.require_columns(code, split, ("id", self.text_column))
        where = f"{self.hub.ref.text} config {code!r} split {split!r}"
        rows: dict[Any, str] = {}
        for batch in self.hub.rows(code, split, ("id", self.text_column)):
            for sid, text in zip(batch["id"], batch[self.text_column]):
                if sid in rows:
                    raise XharnessError(f"{where}: id {sid!r} occurs twice")
                if not isinstance(text, str) or not text.strip():
                    raise XharnessError(f"{where}: id {sid!r} holds no sentence")
                rows[sid] = text
        if not rows:
            raise XharnessError(f"{where}: no rows")
        ids = sorted(rows, key=_id_key)
        return ids, [rows[i] for i in ids]

    def load_language(self, lang: str) -> LanguageData:
        split, limit = self.task.split, self.task.limit
        ids, texts = self._by_id(lang)
        columns = [texts]
        configs = [lang]
        english: list[str] = []
        if self.task.direction != "nway":
            english_code = self.task.english_code
            if english_code not in self.hub.configs():
                raise XharnessError(f"{self.hub.ref.text}: no English configuration ({english_code}) to score '{lang}' against")
            en_ids, english = self._by_id(english_code)
            if en_ids != ids:
                missing = sorted(set(ids) ^ set(en_ids), key=_id_key)
                raise XharnessError(
                    f"{self.hub.ref.text} split {split!r}: {lang} and {english_code} do not hold the same sentence ids "
                    f"({len(missing)} differ, e.g. {missing[:3]}); rows are aligned by id"
                )
            columns.append(english)
            configs.append(english_code)
        fingerprint = texts_fingerprint(*columns, extra=limit)
        if limit is not None:
            texts, english = texts[:limit], english[:limit]
        return LanguageData(
            payload=Bitext(tuple(texts), tuple(english), None),
            fingerprint=fingerprint,
            files=tuple(f for config in configs for f in hub_files(self.hub, config, split)),
            summary={"hub": self.hub.provenance(lang, split)},
        )


class FloresPlus(_FloresConfigs):
    names = ("openlanguagedata/flores_plus",)
    schema_source = "huggingface.co/datasets/openlanguagedata/flores_plus card (configs per code, splits dev/devtest, id + text)"
    text_column = "text"


class FacebookFlores(_FloresConfigs):
    names = ("facebook/flores",)
    schema_source = "facebook/flores loading script flores.py (configs per code, splits dev/devtest, id + sentence)"
    text_column = "sentence"
    limitation = (
        "a script data set, read only from a cache an older datasets prepared or from a parquet export; "
        "no xSIM++: no augmented English"
    )
