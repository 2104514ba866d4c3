"""Finished languages of an unfinished task, kept on disk so an interrupted run loses nothing.

`results/<slug>/.partial/<task>/<lang>.<key>.json` holds one language's score and per-item
outcomes. The key is what must match for reuse and nothing else: the model fingerprint, the
task's number-changing options and the language's data fingerprint (never the batch size, the
device or the output folder). Runs with other keys keep their own files, so one run never
deletes another's finished languages; a run removes only its own files once its result is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from xharness.hashing import digest
from xharness.fileio import atomic_write_json
from xharness.results import LanguageScore
from xharness.tasks.base import LanguageOutcome


def partial_key(*, model_fingerprint: str, config: Mapping[str, Any], data_fingerprint: str) -> str:
    return digest({"model": model_fingerprint, "config": dict(config), "data": data_fingerprint})


class PartialStore:
    def __init__(self, out_dir: Path, slug: str, task: str) -> None:
        self.folder = Path(out_dir) / slug / ".partial" / task

    def _path(self, lang: str, key: str) -> Path:
        return self.folder / f"{lang}.{key[:24]}.json"

    def save(self, lang: str, outcome: LanguageOutcome, *, key: str) -> None:
        payload = {"key": key, "score": outcome.score.to_dict(), "items": dict(outcome.items)}
        # Another run removing its own files may remove the (then empty) folder between our temp
        # write and rename; write again into a fresh folder. A partial is only a shortcut.
        for attempt in range(3):
            try:
                atomic_write_json(self._path(lang, key), payload)
                return
            except FileNotFoundError:
                if attempt == 2:
                    return

    def load(self, lang: str, *, key: str) -> LanguageOutcome | None:
        """The kept outcome for `lang` if it was computed under the same key."""
        try:
            data = json.loads(self._path(lang, key).read_text(encoding="utf-8"))
            if data["key"] != key:
                return None
            entry = dict(data["score"])
            main, n = entry.pop("main_score"), entry.pop("n")
            return LanguageOutcome(score=LanguageScore(main_score=main, metrics=entry, n=n), items=data["items"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: recompute rather than trust it

    def discard(self, keys: Mapping[str, str]) -> None:
        """Remove this run's files (language -> key), then the folders if nothing else is left."""
        for lang, key in keys.items():
            try:
                self._path(lang, key).unlink()
            except FileNotFoundError:
                pass
        for folder in (self.folder, self.folder.parent):
            try:
                folder.rmdir()  # only when empty: other runs' files stay
            except OSError:
                break
