"""Classification probes: a logistic regression trained on English embeddings, tested zero-shot per language.

Protocol (the maths and its decisions are in `xharness.tasks.probe`):

1. Embed the English training split with the model (through the same `embed` callable as the
   other tasks) and, when there is one, the English dev split.
2. For each seed 0..N-1 (`--seeds`, default 5): draw the training sample (all of it, or
   `--probe-train-size` items spread evenly over the labels), standardise the features with
   that sample's statistics, fit the probe for every C of the grid and keep the best on
   English dev (or by 5-fold CV on the sample when there is no dev split).
3. Score every language's test split (English's too, when it has one) with each seed's probe.
   Per language: `accuracy` (mean over seeds, x100, the main score), `accuracy_std`,
   `macro_f1`, `macro_f1_std` (sample std over seeds, x100), and `n`. The sidecar holds the
   first seed's predictions, the gold labels and `correct` per item (one 0/1 per seed).

The probes are trained once per run (on the first language) and reused for every language.
Without `--probe-train-size` every seed trains on the same data: with a dev split the seeds
then agree exactly (std 0) and one fit serves them all. `--limit N` keeps the first N items of
each test split and of English dev; the training split is capped by `--probe-train-size`.

With `--finetune` the probe is replaced by XTREME's protocol (the encoder fine-tuned on English
with a head, best English-dev checkpoint, zero-shot prediction): see `xharness.tasks.finetune`.

Tasks: `sst` (alias `sentiment`; single sentences), `classify` (any single-sentence labelled
set, e.g. the demo's topics), `pawsx` and `xnli` (sentence pairs, features `[u, v, |u-v|, u*v]`).
Data layouts: see `xharness.tasks.labelled_data`; Hugging Face data sets (`--data-dir hf:...`, and a
plain `--data-dir` that is a `save_to_disk` folder) are read through `datasets`: see
`xharness.tasks.labelled_hub` and `xharness.tasks.hub_classification`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from xharness.errors import XharnessError
from xharness.results import LanguageScore
from xharness.tasks.base import Embed, LanguageData, LanguageOutcome, ModelSource, Task
from xharness.tasks.finetune import FINETUNE_OPTIONS, FineTuning
from xharness.tasks.options import TaskOption
from xharness.tasks.item_records import ItemField, ItemRecord
from xharness.tasks.hub_classification import (
    AmazonReviewsReader, LabelledReader, PawsXReader, XnliReader, XtremePawsXReader, XtremeXnliReader,
)
from xharness.tasks.labelled_hub import COLUMN_OPTIONS, HubLabelled, english_protocol, generic_sources, language_identity
from xharness.tasks.labelled_readers import PAIR, SINGLE, Schema, Source
from xharness.tasks.labelled_data import (
    TRAIN_LANGUAGE,
    Examples,
    LabelledData,
    check_labels,
    find_sources,
    pawsx_release_sources,
    xnli_release_sources,
)
from xharness.tasks.probe import (
    C_GRID, Probe, accuracy, baselines, fit_outcomes, macro_f1, mean_std, pair_features, probe_protocol, sample_per_label,
    train_probe,
)

Discover = Callable[[Path], list[Source]]

def _generic_layout(columns: str) -> str:
    return (
        f"train-en, dev-en (optional), test-{{lang}} as .tsv (header naming the columns, or none: {columns}), "
        ".jsonl or .parquet; or train/dev/test files with a lang column; or a `datasets` save_to_disk folder"
    )


_generic = generic_sources


class ClassificationTask(Task):
    """An English-trained logistic-regression probe scored on every language's test split."""

    version: ClassVar[str] = "1"
    main_metric: ClassVar[str] = "accuracy"
    item_record: ClassVar[ItemRecord] = ItemRecord(
        fields=(
            ItemField("predicted", "str", "the first seed's predicted label"),
            ItemField("gold", "str", "the gold label"),
            ItemField("correct", "list[int]", "one 0/1 per probe seed: the seed's prediction is the gold label"),
        ),
        unit="mean", value_field="correct", value_label="correctness",
    )
    schema: ClassVar[Schema] = SINGLE
    subfolders: ClassVar[tuple[str, ...]] = ("",)
    hub_readers = (LabelledReader,)
    options = (
        TaskOption("seeds", int, 5, "seeds to repeat the probe over", minimum=1),
        TaskOption("probe_train_size", int, None, "cap on English training items, sampled per label", minimum=1),
        *FINETUNE_OPTIONS,
        *COLUMN_OPTIONS,
    )

    def __init__(
        self,
        data_dir: Path | str | None,
        *,
        limit: int | None = None,
        seeds: int = 5,
        probe_train_size: int | None = None,
        finetune: bool = False,  # this and the ft_* options: declared in tasks/finetune.py FINETUNE_OPTIONS
        ft_lr: float = 2e-5,
        ft_epochs: int = 5,
        ft_batch_size: int = 8,
        ft_grad_accum: int = 4,
        ft_max_length: int = 128,
        ft_warmup: float = 0.0,
        ft_weight_decay: float = 0.0,
        ft_eval_every: int = 200,
        save_finetuned: str | None = None,
        text_column: str | None = None,  # these three: COLUMN_OPTIONS in tasks/labelled_hub.py
        label_column: str | None = None,
        lang_column: str | None = None,
    ) -> None:
        super().__init__(data_dir, limit=limit)
        columns = dict(text_column=text_column, label_column=label_column, lang_column=lang_column)
        values = self.set_options(
            seeds=seeds, probe_train_size=probe_train_size, finetune=finetune, ft_lr=ft_lr, ft_epochs=ft_epochs,
            ft_batch_size=ft_batch_size, ft_grad_accum=ft_grad_accum, ft_max_length=ft_max_length, ft_warmup=ft_warmup,
            ft_weight_decay=ft_weight_decay, ft_eval_every=ft_eval_every, save_finetuned=save_finetuned, **columns,
        )
        self.schema = type(self).schema.naming(text=text_column, label=label_column, lang=lang_column)
        self.finetuning = FineTuning.from_options(values, seeds=list(range(seeds))) if values["finetune"] else None
        if self.finetuning is not None and probe_train_size is not None:
            raise XharnessError("--probe-train-size applies to the probe, not to --finetune (which trains on the whole English split)")
        self.seeds = list(range(seeds))
        self.probe_train_size = probe_train_size
        self.data = self._open_data(lang_column=lang_column)
        self._english: tuple[Examples, Examples | None] | None = None
        self._probes: list[Probe] | None = None
        self._samples: list[np.ndarray] | None = None
        self._skipped: dict[str, int] = {}
        self._tests: dict[str, Examples] = {}  # what --finetune predicts after training

    # -- where the data is --------------------------------------------------------------

    def _open_data(self, *, lang_column: str | None) -> LabelledData | HubLabelled:
        """The files under --data-dir, or a data set read through `datasets` (hf:..., or a save_to_disk folder)."""
        options = dict(label_map=self.label_map, lang_column=lang_column)
        if self.hub is not None:
            self.folder = self.data_dir
            return HubLabelled(self.hub, self.schema, layout=self.hub_reader.layout, **options)
        found = find_sources(self.candidates())
        self.folder, sources = found if found is not None else (self.data_dir, [])
        if sources and sources[0].format == "save_to_disk":
            return HubLabelled.save_to_disk(self.folder, self.schema, root=self.data_dir, **options)
        return LabelledData(sources, self.schema, label_map=self.label_map, root=self.data_dir)

    def candidates(self) -> list[tuple[Path, Discover]]:
        """(folder, discovery) pairs tried in order; the first that finds any split is used."""
        return [(self.data_dir / sub if sub else self.data_dir, _generic) for sub in self.subfolders]

    @staticmethod
    def label_map(label: str) -> str:
        return label

    def available_languages(self) -> list[str]:
        return self.data.languages("test")

    def canonical_language(self, code: str) -> str | None:
        from xharness.tasks.languages import to_short

        available = self.available_languages()
        code = code.strip().lower().replace("_", "-")
        if code in available:
            return code
        return to_short(code)

    # -- loading ------------------------------------------------------------------------

    def _expected_train(self) -> str:
        return f"train-{TRAIN_LANGUAGE}.tsv|.jsonl|.parquet, or a train file with a lang column"

    def english(self) -> tuple[Examples, Examples | None]:
        """The English training split (required) and dev split (optional), read and checked once."""
        if self._english is None:
            train = self.data.examples("train", TRAIN_LANGUAGE)
            if train is None:
                raise XharnessError(
                    f"{self.folder}: no English training split for {self.name} "
                    f"({self.data.missing_train() or 'expected ' + self._expected_train()})"
                )
            distinct = sorted(set(train.labels))
            if len(distinct) < 2:
                raise XharnessError(
                    f"{train.source}: the English training split has a single label ('{distinct[0]}'); a probe needs two or more"
                )
            if self.probe_train_size is not None and self.probe_train_size < len(distinct):
                raise XharnessError(
                    f"--probe-train-size {self.probe_train_size} is smaller than the number of labels ({len(distinct)}): "
                    "the sample could not hold one item of each"
                )
            dev = self.data.examples("dev", TRAIN_LANGUAGE, limit=self.limit)
            if dev is not None:
                dev = dev.head(self.limit)
                check_labels(dev, train.labels)
            self._english = (train, dev)
        return self._english

    def load_language(self, lang: str) -> LanguageData:
        train, dev = self.english()
        test = self.data.examples("test", lang, limit=self.limit)
        if test is None:
            raise XharnessError(f"{self.folder}: no {self.name} test split for '{lang}'")
        test = test.head(self.limit)
        check_labels(test, train.labels)
        if test.skipped:
            self._skipped[lang] = test.skipped
        self._tests[lang] = test
        fingerprint, files, hub = language_identity(self.data, (train, dev, test), limit=self.limit)
        summary: dict[str, Any] = {"labels": dict(sorted(Counter(test.labels).items()))}
        if hub:
            summary["hub"] = hub  # per split read: data set, config, split, revision, fingerprint, columns
        return LanguageData(payload=test, fingerprint=fingerprint, files=files, summary=summary)

    # -- embedding and training -----------------------------------------------------------

    def features(self, examples: Examples, embed: Embed, rows: np.ndarray | None = None) -> np.ndarray:
        """The probe's input for `examples` (optionally only `rows`): u, or [u, v, |u-v|, u*v]."""
        fields = [list(t) if rows is None else [t[i] for i in rows.tolist()] for t in examples.texts]
        # One call for both sides of a pair: the embedder encodes a text shared by several items once.
        vectors = embed([text for field in fields for text in field])
        parts = np.split(vectors, np.cumsum([len(field) for field in fields])[:-1])
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            return pair_features(parts[0], parts[1])
        raise ValueError(f"a classification item has one or two texts, got {len(parts)}")

    def probes(self, embed: Embed) -> list[Probe]:
        """One fitted probe per seed, trained on the first call and reused afterwards."""
        if self._probes is None:
            train, dev = self.english()
            labels = np.asarray(train.labels)
            samples = [sample_per_label(labels, self.probe_train_size, seed=seed) for seed in self.seeds]
            union = np.unique(np.concatenate(samples))
            x_union = self.features(train, embed, union)
            dev_xy = (self.features(dev, embed), np.asarray(dev.labels)) if dev is not None else None
            fitted: dict[tuple[bytes, int | None], Probe] = {}
            probes = []
            for seed, rows in zip(self.seeds, samples):
                # Identical samples with a dev split give identical probes: fit once.
                key = (rows.tobytes(), None if dev_xy is not None else seed)
                if key not in fitted:
                    x = x_union[np.searchsorted(union, rows)]
                    fitted[key] = train_probe(x, labels[rows], dev=dev_xy, c_grid=C_GRID, seed=seed)
                probes.append(fitted[key])
            self._samples, self._probes = samples, probes
        return self._probes

    # -- fine-tuning (--finetune): the runner hands over the model's files -------------------

    @property
    def needs_model_source(self) -> bool:
        return self.finetuning is not None

    def use_model_source(self, source: ModelSource) -> None:
        self.finetuning.use(source)

    def evaluate_language(self, lang: str, data: Any, embed: Embed) -> LanguageOutcome:
        test: Examples = data
        if self.finetuning is not None:
            train, dev = self.english()
            runs = self.finetuning.runs(train, dev, self._tests, data_key=self._data_key())
            return self._scored(test, [run.predictions[lang] for run in runs])
        probes = self.probes(embed)
        x = self.features(test, embed)
        return self._scored(test, [probe.predict(x) for probe in probes])

    def _data_key(self) -> str:
        """The English files and --limit: what, with the model and options, names a fine-tuning's checkpoints."""
        train, dev = self.english()
        files = [digest for part in (train, dev) if part is not None for _, digest, _ in self.data.identity(part)]
        return hashlib.sha256(f"{files}{self.limit}".encode()).hexdigest()

    def _scored(self, test: Examples, predictions: list[np.ndarray]) -> LanguageOutcome:
        """Accuracy and macro-F1 (mean, std over seeds) and the per-item outcomes, from each seed's predictions."""
        gold = np.asarray(test.labels)
        accs, f1s, first, right = [], [], None, []
        for pred in predictions:
            pred = np.asarray(pred)
            if first is None:
                first = pred
            right.append((pred == gold).astype(int))
            accs.append(100.0 * accuracy(pred, gold))
            f1s.append(100.0 * macro_f1(pred, gold))
        acc, acc_std = mean_std(accs)
        f1, f1_std = mean_std(f1s)
        metrics = {
            "accuracy": acc, "accuracy_std": acc_std, "macro_f1": f1, "macro_f1_std": f1_std,
            **baselines(gold, self.english()[0].labels, self._probes or ()),
        }
        items = {
            "predicted": [str(p) for p in first.tolist()],
            "gold": list(test.labels),
            # One 0/1 per seed for each item: their mean over items and seeds is the main score,
            # so a paired bootstrap over items (compare, report) reproduces it exactly.
            "correct": np.stack(right, axis=1).tolist(),
        }
        return LanguageOutcome(score=LanguageScore(main_score=acc, metrics=metrics, n=len(test)), items=items)

    # -- what the result records ------------------------------------------------------------

    def feature_description(self) -> str:
        if len(self.schema.fields) == 2:
            return "[u, v, |u-v|, u*v] of the two texts' embeddings (u, v as the model returns them)"
        return "u, the text's embedding as the model returns it"

    def config(self) -> dict[str, Any]:
        """The probe's options as before; with --finetune, the fine-tuning hyperparameters instead of the probe's cap."""
        config = super().config()
        for name in FineTuning.option_names():
            config.pop(name, None)
        if self.finetuning is not None:
            config.pop("probe_train_size", None)
            config.update(self.finetuning.config())
        return config

    def protocol(self) -> dict[str, Any]:
        if self.finetuning is not None:
            protocol = {**self.finetuning.protocol(pair=len(self.schema.fields) == 2), **self._data_protocol()}
            if self._skipped:
                protocol["skipped_empty_test_rows"] = dict(sorted(self._skipped.items()))
            return protocol
        dev = None if self._english is None else self._english[1] is not None
        protocol = probe_protocol(
            features=self.feature_description(), seeds=self.seeds, probe_train_size=self.probe_train_size, has_dev=dev,
        )
        protocol.update(self._data_protocol())
        if self._probes is not None and self._samples is not None:
            protocol.update(fit_outcomes(self._probes, self._samples))
        if self._skipped:
            protocol["skipped_empty_test_rows"] = dict(sorted(self._skipped.items()))
        return protocol

    def _data_protocol(self) -> dict[str, Any]:
        """The English data the model was trained and selected on."""
        return {} if self._english is None else english_protocol(self.data, *self._english)


class Classify(ClassificationTask):
    name = "classify"
    description = "Single-sentence classification probe on any labelled set: English-trained logistic regression, accuracy per language (mean ± std over seeds)"
    layout = "generic: " + _generic_layout("text, label")
    languages_note = "every language with a test split under --data-dir"


class Sentiment(ClassificationTask):
    name = "sst"
    description = "Sentiment probe (SST-2 style, your multilingual set): English-trained logistic regression, accuracy per language (mean ± std over seeds)"
    layout = "generic, optionally under sst/ or sentiment/: " + _generic_layout("text, label")
    languages_note = "every language with a test split under --data-dir"
    subfolders = ("", "sst", "sentiment")
    hub_readers = (AmazonReviewsReader, LabelledReader)


class PawsX(ClassificationTask):
    name = "pawsx"
    description = "PAWS-X paraphrase probe on sentence pairs ([u, v, |u-v|, u*v]): English-trained logistic regression, accuracy per language"
    layout = (
        "XTREME download pawsx/{train,dev,test}-{lang}.tsv (sentence1, sentence2, label; no header), "
        "the PAWS-X release x-final/{lang}/{train,dev_2k,test_2k}.tsv, or the generic layout"
    )
    languages_note = "de en es fr ja ko zh (every language with a test split)"
    schema = PAIR
    hub_readers = (PawsXReader, XtremePawsXReader, LabelledReader)

    def candidates(self) -> list[tuple[Path, Discover]]:
        root = self.data_dir
        return [
            (root, _generic),
            (root / "pawsx", _generic),
            (root / "x-final", pawsx_release_sources),
            (root / "pawsx" / "x-final", pawsx_release_sources),
            (root, pawsx_release_sources),
        ]

    def _expected_train(self) -> str:
        return "train-en.tsv (XTREME), x-final/en/train.tsv (PAWS-X release), or the generic layout"


class Xnli(ClassificationTask):
    name = "xnli"
    description = "XNLI inference probe on premise/hypothesis pairs ([u, v, |u-v|, u*v]): English-trained logistic regression, accuracy per language"
    layout = (
        "XTREME download xnli/{train,dev,test}-{lang}.tsv (premise, hypothesis, label; no header), "
        "the XNLI release XNLI-1.0/xnli.{dev,test}.tsv + XNLI-MT-1.0/multinli/multinli.train.en.tsv, or the generic layout"
    )
    languages_note = "ar bg de el en es fr hi ru sw th tr ur vi zh (every language with a test split)"
    schema = PAIR
    hub_readers = (XnliReader, XtremeXnliReader, LabelledReader)

    @staticmethod
    def label_map(label: str) -> str:
        # MultiNLI's train file spells it 'contradictory'; XTREME renames it the same way.
        return "contradiction" if label == "contradictory" else label

    def candidates(self) -> list[tuple[Path, Discover]]:
        root = self.data_dir
        return [
            (root, _generic),
            (root / "xnli", _generic),
            (root, xnli_release_sources),
            (root / "xnli", xnli_release_sources),
        ]

    def _expected_train(self) -> str:
        return "train-en.tsv (XTREME), XNLI-MT-1.0/multinli/multinli.train.en.tsv (XNLI release), or the generic layout"
