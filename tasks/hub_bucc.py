"""BUCC 2018 from Hugging Face data sets: XTREME's and MTEB's copies, and what each of them lacks.

- `google/xtreme` (huggingface/datasets `datasets/xtreme/xtreme.py`): configurations `bucc18.{de,fr,ru,zh}`;
  split `validation` is BUCC's sample (our dev), `test` BUCC's training data (our test); one row per
  gold pair: `source_sentence`, `target_sentence` (English), `source_lang` and `target_lang` — which,
  despite their names, hold the two sentences' BUCC ids (`de-000000001`, `en-000000001`).
- `mteb/bucc-bitext-mining` (MTEB's BUCC tasks): configurations `{de,fr,ru,zh}-en`, split `test` only
  (BUCC's training data). Two layouts over its history: the current one (MTEB's `BUCC.v2`, revision
  1739dc1) has one row per gold pair, `sentence1` (the other language) and `sentence2` (English), no
  ids; the earlier one (MTEB's `BUCC`, revision d515196) has a single row holding the lists
  `sentence1`, `sentence2` and `gold`, pairs of 1-based positions in those lists.

Neither holds BUCC's comparable corpora (the hundreds of thousands of sentences per side that hide the
gold pairs): they hold the gold pairs' sentences. We do not refuse; we mine over the sentences the copy
holds, and say so in the result (`protocol.candidates`, and `data_source.limitation`): every sentence
then has its translation among the candidates, which is a far easier task than BUCC's, so such
numbers never share a table with numbers from BUCC's files (the protocol differs). MTEB's copy also
has no dev split: the threshold is then tuned on test itself (`protocol.threshold` says so), and
`f1` equals `f1_oracle`. The payload is `Bucc2018.load_language`'s (dev Split, test Split), so the
scorer is unchanged; ids that a copy lacks are the rows' 1-based positions.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable

from xharness.errors import XharnessError
from xharness.tasks.base import LanguageData
from xharness.tasks.bucc_data import BUCC_LANGUAGES, Corpus, Split
from xharness.tasks.hub_readers import HubReader, hub_files, texts_fingerprint

GOLD_ONLY = (
    "the source holds only the gold pairs' sentences, not BUCC's comparable corpora: mined among those sentences "
    "(every sentence has its translation there), far easier than BUCC and not comparable with runs on BUCC's files"
)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise XharnessError(f"{where} is {'empty' if isinstance(value, str) else type(value).__name__}, not a sentence")
    return value.strip()


class _Sides:
    """One split's sentences by id, in order of first appearance, and its gold pairs."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.src: dict[str, str] = {}
        self.en: dict[str, str] = {}
        self.gold: set[tuple[str, str]] = set()

    def add(self, side: dict[str, str], sid: str, sentence: str, row: int) -> None:
        if side.get(sid, sentence) != sentence:
            raise XharnessError(f"{self.where} row {row}: id {sid!r} holds two different sentences")
        side[sid] = sentence

    def split(self, name: str, limit: int | None) -> Split:
        src = Corpus(tuple(self.src), tuple(self.src.values()))
        en = Corpus(tuple(self.en), tuple(self.en.values()))
        gold = frozenset(self.gold)
        if limit is not None:  # as the file reader: the first `limit` sentences of each side, gold among them
            src = Corpus(src.ids[:limit], src.sentences[:limit])
            en = Corpus(en.ids[:limit], en.sentences[:limit])
            kept_src, kept_en = set(src.ids), set(en.ids)
            gold = frozenset((s, e) for s, e in gold if s in kept_src and e in kept_en)
        return Split(name, src, en, gold, ())


def _fingerprint(splits: Iterable[Split], limit: int | None) -> str:
    columns = []
    for split in splits:
        columns.append(f"{i}\t{s}" for i, s in zip(split.src.ids, split.src.sentences))
        columns.append(f"{i}\t{s}" for i, s in zip(split.en.ids, split.en.sentences))
        columns.append(f"{s}\t{e}" for s, e in sorted(split.gold or ()))
    return texts_fingerprint(*columns, extra=limit)


class _BuccReader(HubReader):
    dev_split: ClassVar[str | None]  # None: the copy has no dev split (threshold tuned on test itself)
    test_split: ClassVar[str] = "test"

    def _config(self, lang: str) -> str:
        raise NotImplementedError

    def _lang(self, config: str) -> str | None:
        raise NotImplementedError

    def _sides(self, config: str, split: str) -> _Sides:
        raise NotImplementedError

    def languages(self) -> list[str]:
        return sorted(lang for lang in map(self._lang, self.hub.configs()) if lang in BUCC_LANGUAGES)

    def protocol_changes(self) -> dict[str, str]:
        """What `Bucc2018.protocol()` says differently for data from this copy."""
        out = {"candidates": GOLD_ONLY}
        if self.dev_split is None:
            out["threshold"] = ("tuned on test itself (oracle): the source has no dev split, so f1 equals f1_oracle; "
                                "not the dev-tuned protocol")
        return out

    def load_language(self, lang: str) -> LanguageData:
        config, limit = self._config(lang), self.task.limit
        names = [n for n in (self.dev_split, self.test_split) if n is not None]
        splits = {n: self._sides(config, n).split("dev" if n == self.dev_split else "test", limit) for n in names}
        test = splits[self.test_split]
        dev = splits[self.dev_split] if self.dev_split is not None else test
        provenance = {n: self.hub.provenance(config, n) for n in names}
        return LanguageData(
            payload=(dev, test),
            fingerprint=_fingerprint((dev, test), limit),
            files=hub_files(self.hub, config, *names),
            summary={"hub": provenance[self.test_split] if len(names) == 1 else provenance},
        )


class XtremeBucc(_BuccReader):
    names = ("google/xtreme",)
    schema_source = (
        "huggingface/datasets datasets/xtreme/xtreme.py (configs `bucc18.xx`, splits validation/test, one row per gold "
        "pair: source_sentence, target_sentence, ids in source_lang/target_lang)"
    )
    limitation = "gold pairs only, no comparable corpora: mined among the gold sentences"
    dev_split = "validation"
    columns = ("source_sentence", "target_sentence", "source_lang", "target_lang")

    @classmethod
    def recognises_configs(cls, configs: list[str]) -> bool:
        return any(c.startswith("bucc18.") for c in configs)

    def _config(self, lang: str) -> str:
        return f"bucc18.{lang}"

    def _lang(self, config: str) -> str | None:
        return config[len("bucc18."):] if config.startswith("bucc18.") else None

    def _sides(self, config: str, split: str) -> _Sides:
        self.hub.require_columns(config, split, self.columns)
        sides = _Sides(f"{self.hub.label(config)} split {split!r}")
        row = 0
        for batch in self.hub.rows(config, split, self.columns):
            for src, en, sid, eid in zip(*(batch[c] for c in self.columns)):
                row += 1
                where = f"{sides.where} row {row}"
                sid, eid = _text(sid, f"{where}: the source id"), _text(eid, f"{where}: the English id")
                sides.add(sides.src, sid, _text(src, f"{where}: source_sentence"), row)
                sides.add(sides.en, eid, _text(en, f"{where}: target_sentence"), row)
                sides.gold.add((sid, eid))
        if not row:
            raise XharnessError(f"{sides.where}: no rows")
        return sides


class MtebBucc(_BuccReader):
    names = ("mteb/bucc-bitext-mining",)
    schema_source = (
        "huggingface.co/datasets/mteb/bucc-bitext-mining (configs `xx-en`, split test; rows sentence1/sentence2, or one row "
        "of lists sentence1, sentence2 and 1-based gold pairs) and MTEB's BUCC tasks that read it"
    )
    limitation = "gold pairs only, no ids, no dev split: mined among the gold sentences, threshold tuned on test itself"
    dev_split = None
    columns = ("sentence1", "sentence2")

    @classmethod
    def recognises_configs(cls, configs: list[str]) -> bool:
        return any(c in {f"{lang}-en" for lang in BUCC_LANGUAGES} for c in configs)

    def _config(self, lang: str) -> str:
        return f"{lang}-en"

    def _lang(self, config: str) -> str | None:
        return config[: -len("-en")] if config.endswith("-en") else None

    def _sides(self, config: str, split: str) -> _Sides:
        self.hub.require_columns(config, split, self.columns)
        sides = _Sides(f"{self.hub.label(config)} split {split!r}")
        if "gold" in self.hub.columns(config, split):
            return self._listed(config, split, sides)
        row = 0
        for batch in self.hub.rows(config, split, self.columns):
            for src, en in zip(batch["sentence1"], batch["sentence2"]):
                row += 1
                where = f"{sides.where} row {row}"
                sides.src[str(row)] = _text(src, f"{where}: sentence1")
                sides.en[str(row)] = _text(en, f"{where}: sentence2")
                sides.gold.add((str(row), str(row)))
        if not row:
            raise XharnessError(f"{sides.where}: no rows")
        return sides

    def _listed(self, config: str, split: str, sides: _Sides) -> _Sides:
        """The earlier layout: one row of lists, gold as 1-based (source, English) positions."""
        # Two rows at most are pulled (a stream has no row count): one is the layout, a second refuses it.
        head = [batch for batch in self.hub.rows(config, split, ("sentence1", "sentence2", "gold"), limit=2)]
        found = sum(len(batch["gold"]) for batch in head)
        if found != 1:
            raise XharnessError(f"{sides.where}: expected one row of sentence lists beside 'gold', found {'more than one' if found > 1 else 0}")
        record = {column: values[0] for batch in head[:1] for column, values in batch.items()}
        for side, column in ((sides.src, "sentence1"), (sides.en, "sentence2")):
            values = record[column]
            if not isinstance(values, list):
                raise XharnessError(f"{sides.where}: {column} is not a list of sentences")
            for i, value in enumerate(values, start=1):
                side[str(i)] = _text(value, f"{sides.where} {column}[{i}]")
        for pair in record["gold"] or ():
            ok = isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(v, int) for v in pair)
            if not ok or str(pair[0]) not in sides.src or str(pair[1]) not in sides.en:
                raise XharnessError(f"{sides.where}: gold entry {pair!r} names no sentence (expected 1-based positions)")
            sides.gold.add((str(pair[0]), str(pair[1])))
        if not sides.gold:
            raise XharnessError(f"{sides.where}: the gold list is empty")
        return sides
