"""The classification tasks' Hugging Face data sets: PAWS-X and XNLI as published, and the generic rule.

Each reader names a published schema (read from the data set's card and its `configs:`/`dataset_info`
block, or the loading script in huggingface/datasets) and the `HubLayout` that says where its
languages are; `xharness.tasks.labelled_hub.HubLabelled` reads the rows, so the task's own code
(English train and dev, test per language, label checks, fingerprints) runs unchanged.

- `google-research-datasets/paws-x`: configs `de en es fr ja ko zh`; splits `train` (English:
  the PAWS-Wiki training pairs; other configs: machine-translated, never read), `validation`,
  `test`; columns `id`, `sentence1`, `sentence2`, `label` (ClassLabel `0`, `1`).
- `google/xtreme`, PAWS-X: configs `PAWS-X.{de,en,es,fr,ja,ko,zh}`; splits `train`, `validation`,
  `test`; columns `sentence1`, `sentence2`, `label` (a string, `0` or `1`).
- `facebook/xnli`: configs `ar bg de el en es fr hi ru sw th tr ur vi zh` and `all_languages`;
  splits `train` (MultiNLI; machine-translated outside `en`), `validation`, `test`; columns
  `premise`, `hypothesis`, `label` (ClassLabel `entailment`, `neutral`, `contradiction`).
  `all_languages` packs the 15 languages into one row (Translation features) and is not read.
- `google/xtreme`, XNLI: one config `XNLI`; splits `validation` and `test` only; columns
  `language`, `sentence1`, `sentence2`, `gold_label` (a string).
- `mteb/AmazonReviewsClassification` (`sst`; MTEB's copy of the Multilingual Amazon Reviews Corpus):
  configs `de en es fr ja zh`; splits `train`, `validation`, `test`; columns `text`, `label`
  (an integer, 0-4: the review's stars minus one).
- Any other labelled data set (`classify`, `sst`, and the fallback of `pawsx`/`xnli`): the generic
  rule of `HubLabelled`, with `--text-column`, `--label-column`, `--lang-column` where the names differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from xharness.tasks.hub_readers import HubReader
from xharness.tasks.labelled_hub import HubLayout

if TYPE_CHECKING:
    from xharness.hub_data import HubDataset
    from xharness.tasks.base import LanguageData


class LabelledReader(HubReader):
    """Any labelled data set: one configuration per language, or a language column / per-language split names."""

    names: ClassVar[tuple[str, ...]] = ()
    schema_source: ClassVar[str] = (
        "the generic rule: one config per language (or a lang/language column, or splits test_de...), "
        "splits train/validation/test, text|sentence (or sentence1/premise + sentence2/hypothesis) and label columns"
    )
    usage: ClassVar[str] = "hf:OWNER/NAME[:CONFIG] or hf:FOLDER, any labelled set by the generic rule (see the README)"
    layout: ClassVar[HubLayout] = HubLayout()

    @classmethod
    def recognises(cls, hub: "HubDataset") -> bool:
        # Any set that opens: its columns are checked when read, in a line naming the accepted names and flags.
        return True

    def languages(self) -> list[str]:
        return self.task.available_languages()

    def load_language(self, lang: str) -> "LanguageData":
        return self.task.load_language(lang)  # the task reads through its HubLabelled data


class PawsXReader(LabelledReader):
    names = ("google-research-datasets/paws-x",)
    schema_source = (
        "huggingface.co/datasets/google-research-datasets/paws-x (card's dataset_info; paws-x.py in huggingface/datasets): "
        "configs de en es fr ja ko zh, splits train/validation/test, id, sentence1, sentence2, label ClassLabel ['0', '1']"
    )


class XtremePawsXReader(LabelledReader):
    names = ("google/xtreme",)
    schema_source = (
        "huggingface.co/datasets/google/xtreme (card's dataset_info; xtreme.py in huggingface/datasets): "
        "configs PAWS-X.{de,en,es,fr,ja,ko,zh}, splits train/validation/test, sentence1, sentence2, label (string '0'/'1')"
    )
    layout = HubLayout(config_prefix="PAWS-X.")


class XnliReader(LabelledReader):
    names = ("facebook/xnli",)
    schema_source = (
        "huggingface.co/datasets/facebook/xnli (card's dataset_info; xnli.py in huggingface/datasets): configs "
        "ar bg de el en es fr hi ru sw th tr ur vi zh, splits train/validation/test, premise, hypothesis, "
        "label ClassLabel [entailment, neutral, contradiction]"
    )
    layout = HubLayout(refused_configs={
        "all_languages": "config 'all_languages' packs every language into one row (Translation features) and is not "
        "read; the per-language configs hold the same pairs: use hf:facebook/xnli without a config",
    })


class XtremeXnliReader(LabelledReader):
    names = ("google/xtreme",)
    schema_source = (
        "huggingface.co/datasets/google/xtreme (card's dataset_info; xtreme.py in huggingface/datasets): "
        "config XNLI, splits validation/test, language, sentence1, sentence2, gold_label (string)"
    )
    limitation = "its XNLI config has no train split (XTREME trains on MultiNLI): the probe needs hf:facebook/xnli"
    layout = HubLayout(
        config="XNLI",
        train_note="google/xtreme's XNLI config holds validation and test only (XTREME trains on MultiNLI, which it "
        "does not include); use hf:facebook/xnli, whose en train split is MultiNLI's",
    )


class AmazonReviewsReader(LabelledReader):
    names = ("mteb/AmazonReviewsClassification",)
    schema_source = (
        "huggingface.co/datasets/mteb/AmazonReviewsClassification (card's dataset_info): configs de en es fr ja zh, "
        "splits train/validation/test, text, label (int64, 5 classes)"
    )
