"""The task seam: a probe implements one language; the base class owns the loop, timing and result.

A task reads its data from a folder, validates every requested language before any model
work starts (so bad input fails fast and writes nothing), then embeds and scores one
language at a time through an `embed` callable the runner provides (batching, progress and,
later, caching live there, not in tasks).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Mapping, Sequence

import numpy as np

from xharness.data_manifest import read_manifest
from xharness.hashing import digest
from xharness.hub_data import HubDataset, open_reference, shorten
from xharness.hub_reference import is_reference
from xharness.suggest import did_you_mean
from xharness.errors import XharnessError
from xharness.results import LanguageScore, TaskResult
from xharness.tasks.options import TaskOption, resolve
from xharness.tasks.item_records import ItemRecord
from xharness.timing import PhaseTimer

if TYPE_CHECKING:
    from xharness.tasks.hub_readers import HubReader

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class LanguageOutcome:
    """What a task returns for one language: its score and its per-item outcomes."""

    score: LanguageScore
    items: Mapping[str, list] = field(default_factory=dict)


# What a rank that does not score (`Task.scoring` False) returns for a language: never written or shown.
NOT_SCORED = LanguageOutcome(score=LanguageScore(main_score=float("nan"), metrics={}, n=0))


@dataclass(frozen=True)
class LanguageData:
    """One language's loaded data plus the fingerprint of the files it came from."""

    payload: Any
    fingerprint: str
    files: tuple[str, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)  # what the data holds, recorded beside its files (label counts)


@dataclass(frozen=True)
class ModelSource:
    """The model as files, for a task that trains it rather than embedding through it (`--finetune`).

    `folder` is the checkpoint folder (None for a plugin or hub id); `work_dir` is a stable folder
    under the results' .partial/ for checkpoints, so an interrupted training can resume.
    """

    kind: str
    folder: Path | None
    fingerprint: str
    dtype: str | None = None
    device: str | None = None
    work_dir: Path | None = None


class Task(ABC):
    """Base class of every probe. Subclasses set the class metadata and implement three methods."""

    name: ClassVar[str]
    version: ClassVar[str]
    main_metric: ClassVar[str]
    higher_is_better: ClassVar[bool] = True
    item_record: ClassVar[ItemRecord]  # what each language's per-item outcomes hold (item_records.py)
    description: ClassVar[str]
    layout: ClassVar[str]  # the data layout expected under --data-dir, for `xharness tasks`
    split: ClassVar[str] = "test"
    languages_note: ClassVar[str] = "every language found under --data-dir"
    # The options the task takes, as data: the CLI builds its flags from these, the runner passes
    # the user's values to the constructor under these names, and `config()` records them.
    options: ClassVar[tuple[TaskOption, ...]] = ()
    # The Hugging Face data sets the task reads with `--data-dir hf:...` (tasks/hub_readers.py).
    hub_readers: ClassVar[tuple[type["HubReader"], ...]] = ()
    # True for a task that, under a launcher, searches and scores on rank 0 alone (only rank 0's
    # result is written): it makes all of a language's embed calls before its first search and
    # returns NOT_SCORED there when `self.scoring` is False. The other ranks still make every embed
    # call rank 0 makes, in the same order, since encoding is collective. Other tasks (the
    # classification probes) score on every rank.
    rank_zero_scores: ClassVar[bool] = False
    scoring: bool = True  # whether this process scores; `run` sets it from the embedder's world

    def __init__(self, data_dir: Path | str | None, *, limit: int | None = None) -> None:
        if data_dir is None:
            raise XharnessError(f"task '{self.name}' needs --data-dir (expected layout: {self.layout})")
        if limit is not None and limit < 1:
            raise XharnessError(f"--limit must be a positive number, got {limit}")
        self.limit = limit
        self.option_values = resolve(self.options, {}, task=self.name)
        self.hub: HubDataset | None = None
        self.hub_reader: HubReader | None = None
        if is_reference(str(data_dir)):
            # A data set, not a folder: the reader stands in for the file code (subclasses skip their discovery).
            from xharness.tasks.hub_readers import choose_reader

            self.hub = open_reference(str(data_dir))
            self.hub_reader = choose_reader(self, self.hub)
            self.data_dir = Path(str(data_dir))
            return
        self.data_dir = Path(data_dir)
        if not self.data_dir.exists():
            raise XharnessError(f"{self.data_dir}: data folder not found")
        if not self.data_dir.is_dir():
            raise XharnessError(f"{self.data_dir}: --data-dir must be a folder")

    def set_options(self, **values: Any) -> Mapping[str, Any]:
        """Check the subclass's option values against the declarations (the one place they are checked)."""
        self.option_values = resolve(self.options, values, task=self.name)
        return self.option_values

    # -- what a subclass implements -------------------------------------------------------

    @abstractmethod
    def available_languages(self) -> list[str]:
        """Languages with data under `data_dir`, as result codes."""

    @abstractmethod
    def load_language(self, lang: str) -> LanguageData:
        """Read and validate one language's data; raise XharnessError on bad input."""

    @abstractmethod
    def evaluate_language(self, lang: str, data: Any, embed: Embed) -> LanguageOutcome:
        """Embed and score one language."""

    @contextmanager
    def searching(self, total: int) -> Iterator[Callable[[int], object] | None]:
        """Progress of a search over `total` queries in the language being scored: yields `advance(n)`, or None.

        `run` connects it to the runner's reporter (`search <task> <lang>`, queries/s, time left).
        """
        hook = getattr(self, "_search_progress", None)
        handle = hook(total) if hook is not None else None
        try:
            yield handle.advance if handle is not None else None
        finally:
            if handle is not None:
                handle.close()

    # -- what a subclass may override -----------------------------------------------------

    def default_languages(self) -> list[str]:
        return self.available_languages()

    def canonical_language(self, code: str) -> str | None:
        """Map a user's language code to a result code (None when unknown)."""
        code = code.strip().lower()
        return code if code in self.known_languages() else None

    def known_languages(self) -> list[str]:
        return self.available_languages()

    @property
    def needs_model_source(self) -> bool:
        """True when the task trains the model itself: the runner then calls `use_model_source` before `run`."""
        return False

    def use_model_source(self, source: ModelSource) -> None:
        """Receive the model's files (only called when `needs_model_source`); may refuse with XharnessError."""

    def data_folder(self) -> Path:
        """The folder the language files are read from (where a data manifest would sit)."""
        return self.data_dir

    def protocol(self) -> dict[str, Any]:
        """How the numbers are produced (direction, margin, threshold rule...)."""
        return {}

    def config(self) -> dict[str, Any]:
        """Task options that change the numbers (the declared ones, plus --limit)."""
        numbers = {option.name: self.option_values[option.name] for option in self.options if option.changes_numbers}
        return {"limit": self.limit, **numbers}

    def hub_source(self, fingerprint: str) -> dict[str, Any] | None:
        """What a result records of the data set it read (`task.data_source`), in the manifest's shape."""
        if self.hub is None or self.hub_reader is None:
            return None
        record: dict[str, Any] = {
            "format": f"hf:{self.hub.name}",
            "fingerprint": fingerprint,
            "source": {"package": "datasets", "dataset": self.hub.name, "reference": self.hub.ref.text, "kind": self.hub.kind},
        }
        if self.hub.ref.revision:
            record["source"]["revision"] = self.hub.ref.revision
        if self.hub.streaming:
            record["source"]["streamed"] = True  # read in batches where it lies (no prepared copy); changes no number
        if self.hub_reader.limitation:
            record["limitation"] = self.hub_reader.limitation
        return record

    # -- what the base class owns ---------------------------------------------------------

    def languages_present(self) -> list[str]:
        """The languages with data: the data set's (through its hub reader) or the folder's."""
        return self.hub_reader.languages() if self.hub_reader is not None else self.available_languages()

    def read_language(self, lang: str) -> LanguageData:
        """One language's data, from the data set (hub reader) or the folder."""
        return self.hub_reader.load_language(lang) if self.hub_reader is not None else self.load_language(lang)

    def resolve_languages(self, requested: Sequence[str] = ()) -> list[str]:
        """The languages to run: the default set, 'all', or the user's codes (checked)."""
        available = self.languages_present()
        if not available:
            if self.hub is not None and self.hub.ref.config is not None:
                raise XharnessError(f"{self.data_dir}: config {self.hub.ref.config!r}, named in the reference, holds no {self.name} data")
            if self.hub is not None:  # the file layout is not what a data set reference lacks
                raise XharnessError(
                    f"{self.data_dir}: no {self.name} configuration in this data set (configurations: {shorten(self.hub.configs())})"
                )
            raise XharnessError(f"{self.data_dir}: no {self.name} data found (expected layout: {self.layout})")
        if not requested:
            chosen = [lang for lang in self.default_languages() if lang in available]
            if not chosen:
                raise XharnessError(
                    f"{self.data_dir}: none of {self.name}'s default languages has data here; "
                    f"pass -l all or -l with some of: {', '.join(available)}"
                )
            return chosen
        chosen: list[str] = []
        for code in requested:
            if code.lower() == "all":
                return available
            lang = self.canonical_language(code)
            if lang is None:
                suffix = did_you_mean(code.lower(), self.known_languages())
                raise XharnessError(f"unknown language code '{code}' for task {self.name}{suffix}")
            if lang not in available:
                raise XharnessError(f"{self.data_dir}: no {self.name} data for language '{lang}' (languages here: {shorten(available)})")
            if lang not in chosen:
                chosen.append(lang)
        return chosen

    def load(self, languages: Sequence[str] = ()) -> dict[str, LanguageData]:
        """Resolve and read every requested language (all checks happen here, before any model work)."""
        return {lang: self.read_language(lang) for lang in self.resolve_languages(languages)}

    def _evaluate(self, lang: str, payload: Any, embed: Embed, world: Any) -> LanguageOutcome:
        """`evaluate_language`, and where rank 0 alone scores, its verdict on every rank.

        The other ranks leave a language after its last embed call. A refusal rank 0 raises while
        searching or scoring (an undefined margin) is broadcast, so every rank stops with it, as
        before, rather than waiting for rank 0 in the next collective; one raised inside an embed
        call is raised by every rank alike and needs no word.
        """
        if not (self.rank_zero_scores and world is not None and world.distributed):
            return self.evaluate_language(lang, payload, embed)
        from xharness.distributed import decided_by_main

        inside_embed = False

        def tracked(texts: Sequence[str]) -> np.ndarray:
            nonlocal inside_embed
            inside_embed = True
            vectors = embed(texts)
            inside_embed = False
            return vectors

        failure: XharnessError | None = None
        try:
            outcome = self.evaluate_language(lang, payload, tracked)
        except XharnessError as exc:
            if inside_embed or not world.is_main:
                raise
            failure = exc

        def verdict() -> None:
            if failure is not None:
                raise failure

        decided_by_main(verdict, world)
        return outcome

    def run(
        self,
        embed: Embed,
        *,
        model: Mapping[str, Any],
        languages: Sequence[str] = (),
        loaded: Mapping[str, LanguageData] | None = None,
        run_config: Mapping[str, Any] | None = None,
        finished: Mapping[str, LanguageOutcome] | None = None,
        on_language: Callable[[str, LanguageOutcome, float], None] | None = None,
    ) -> TaskResult:
        """Embed and score each language (loading them first unless `loaded` is given).

        Languages in `finished` (outcomes kept from an interrupted run) are not recomputed;
        `on_language` is called after each newly scored language, so the caller can keep it.
        """
        timer = PhaseTimer()
        world = getattr(embed, "world", None)
        self.scoring = not self.rank_zero_scores or world is None or world.is_main
        if loaded is None:
            with timer.phase("load_data"):
                loaded = self.load(languages)
        langs = list(loaded)

        def timed_embed(texts: Sequence[str]) -> np.ndarray:
            with timer.phase("encode"):
                return embed(texts)

        scores: dict[str, LanguageScore] = {}
        items: dict[str, dict[str, list]] = {}
        for lang in langs:
            if finished and lang in finished:
                scores[lang] = finished[lang].score
                items[lang] = dict(finished[lang].items)
                continue
            if hasattr(embed, "context"):
                embed.context = lang  # progress names the language being encoded
            self._search_progress = getattr(embed, "search_progress", None)
            started = time.perf_counter()
            encode_before = timer.seconds.get("encode", 0.0)
            outcome = self._evaluate(lang, loaded[lang].payload, timed_embed, world)
            wrong = None if outcome is NOT_SCORED else self.item_record.mismatch(outcome.items)
            if wrong is not None:  # a bug in the task, not the user's input
                raise TypeError(f"task {self.name}/{lang}: per-item outcomes do not match item_record: {wrong}")
            elapsed = time.perf_counter() - started
            timer.seconds["score"] = timer.seconds.get("score", 0.0) + elapsed - (
                timer.seconds.get("encode", 0.0) - encode_before
            )
            scores[lang] = outcome.score
            items[lang] = dict(outcome.items)
            if on_language is not None:
                on_language(lang, outcome, elapsed)

        task_info = {
            "name": self.name,
            "version": self.version,
            "split": self.split,
            "main_metric": self.main_metric,
            "protocol": self.protocol(),
            "data_dir": str(self.data_dir),
            "data_fingerprint": digest({lang: loaded[lang].fingerprint for lang in langs}),
            "data_files": {
                lang: {"files": list(loaded[lang].files), "sha256": loaded[lang].fingerprint, **dict(loaded[lang].summary)}
                for lang in langs
            },
            "languages": langs,
        }
        manifest = read_manifest(self.data_folder()) if self.hub is None else self.hub_source(task_info["data_fingerprint"])
        if manifest is not None:
            task_info["data_source"] = manifest
        return TaskResult(
            task=task_info,
            model=dict(model),
            config={**self.config(), **dict(run_config or {})},
            scores=scores,
            timing=timer.rounded(),
            items=items,
        )

