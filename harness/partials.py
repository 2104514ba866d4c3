"""Finished languages of an unfinished task, kept on disk so an interrupted run loses nothing.

`results/<slug>/.partial/<task>/<lang>.json` holds one language's score and per-item outcomes
with everything that must match for reuse: the model fingerprint, the language's data
fingerprint and the task configuration. The folder goes away once the task's result is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Mapping

from xharness.hashing import digest
from xharness.fileio import atomic_write_json
from xharness.results import LanguageScore
from xharness.tasks.base import LanguageOutcome


class PartialStore:
    def __init__(self, out_dir: Path, slug: str, task: str) -> None:
        self.folder = Path(out_dir) / slug / ".partial" / task

    def _key(self, model_fingerprint: str, config: Mapping[str, Any], data_fingerprint: str) -> str:
        return digest({"model": model_fingerprint, "config": dict(config), "data": data_fingerprint})

    def save(self, lang: str, outcome: LanguageOutcome, *, model_fingerprint: str, config: Mapping[str, Any], data_fingerprint: str) -> None:
        payload = {
            "key": self._key(model_fingerprint, config, data_fingerprint),
            "score": outcome.score.to_dict(),
            "items": dict(outcome.items),
        }
        # Another run finishing the same task may remove the folder between our temp write and
        # rename; write again into a fresh folder. A partial is only a shortcut, never the result.
        for attempt in range(3):
            try:
                atomic_write_json(self.folder / f"{lang}.json", payload)
                return
            except FileNotFoundError:
                if attempt == 2:
                    return

    def load(self, lang: str, *, model_fingerprint: str, config: Mapping[str, Any], data_fingerprint: str) -> LanguageOutcome | None:
        """The kept outcome for `lang` if it was computed under the same model, data and config."""
        path = self.folder / f"{lang}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["key"] != self._key(model_fingerprint, config, data_fingerprint):
                return None
            entry = dict(data["score"])
            main, n = entry.pop("main_score"), entry.pop("n")
            return LanguageOutcome(score=LanguageScore(main_score=main, metrics=entry, n=n), items=data["items"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: recompute rather than trust it

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        for parent in (self.folder.parent, self.folder.parent.parent):
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
