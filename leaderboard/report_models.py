"""The models of a transfer report: one per model name and folder, how each reads, and which is the baseline.

One model name in two folders (a `demo/` subfolder beside a run of one's own, a rerun) gives two
models, labelled `name [folder]` by the leaderboard's own `collect.label_by_folder`; a name in one
folder keeps its plain name. `--baseline` accepts the recorded name, the slug, the display name
from the names file, the folder-qualified label or the folder; a value that fits several models
is refused with the candidates named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Sequence

from xharness.errors import XharnessError
from xharness.leaderboard.collect import ResultEntry
from xharness.leaderboard.names import NamesFile


@dataclass(frozen=True)
class Model:
    slug: str
    name: str  # as recorded in its result files
    label: str  # as the report shows it (names file, else the recorded name, with its folder where the name is in two)
    intermediate: str | None = None
    folder: str = ""
    key: str = ""  # the leaderboard's label: the name, or `name [folder]` where the name is in two folders


def report_models(
    entries: Sequence[ResultEntry], names: NamesFile
) -> tuple[dict[str, Model], dict[str, dict[str, ResultEntry]], dict[str, int | None]]:
    """(models, their results by task, their position in the names file), each keyed by the entries' label.

    `entries` come from `collect`, which has labelled them (`label_by_folder`).
    """
    by_model: dict[str, dict[str, ResultEntry]] = {}
    for entry in entries:
        by_model.setdefault(entry.display, {})[entry.task] = entry
    models, order = {}, {}
    for key, tasks in by_model.items():
        first = next(iter(tasks.values()))
        name = first.model
        slug = str(first.result.model.get("slug") or name)
        folder = PurePosixPath(first.source).parent.as_posix()
        # The folder-qualified label first, so a names file can tell two runs of one name apart.
        position, entry = names.lookup(key, folder, slug, name)
        label = entry.name or entry.intermediate or key
        models[key] = Model(slug=slug, name=name, label=label, intermediate=entry.intermediate, folder=folder, key=key)
        order[key] = position
    seen: dict[str, str] = {}
    for key, model in models.items():
        if model.label in seen:
            raise XharnessError(
                f"models '{seen[model.label]}' and '{key}' would both read '{model.label}'; give them different display "
                "names in the names file (a key may be the folder-qualified label, 'name [folder]')"
            )
        seen[model.label] = key
    return models, by_model, order


def find_baseline(wanted: str, models: dict[str, Model]) -> str:
    """The key of the model `--baseline` names (see the module docstring); one line naming the candidates otherwise."""
    # The folder last: `usem3` must stay ambiguous between results/demo/usem3 and results/usem3.
    as_folder = PurePosixPath(wanted).as_posix()  # `demo/usem3/` and `./demo/usem3` as a shell completes them
    for attribute in ("key", "name", "slug", "label", "folder"):
        value = as_folder if attribute == "folder" else wanted
        hits = sorted({key for key, m in models.items() if getattr(m, attribute) == value})
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise XharnessError(
                f"--baseline '{wanted}' matches {len(hits)} models: {', '.join(repr(h) for h in hits)}; "
                "give one of these labels (or its folder)"
            )
    available = ", ".join(sorted(m.slug if m.key == m.name else m.key for m in models.values()))
    raise XharnessError(f"--baseline '{wanted}': no such model in the results folder (models: {available})")
