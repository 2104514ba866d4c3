"""What data a result was computed on, as a key (runs that share it may share a table) and a label.

A result is identified, in this order, by:
0. a Hugging Face data set (`--data-dir hf:...`; `task.data_source.format` is `hf:OWNER/NAME`): by
   content when it holds a known data set's sentences (MTEB's Tatoeba copy is LASER's: it groups with
   runs on LASER's files), else keyed by its content fingerprint and labelled by its name
   (`hf:mteb/tatoeba-bitext-mining`), so a table's heading names the copy it was computed on;
1. the manifest of a built data folder (the demo writes `MANIFEST.json` beside its files; `eval`
   records it as `task.data_source`; for older results the manifest is read from `data_dir` when
   that folder still exists): the key is the build's fingerprint, the label names its source
   (`demo (django 5.2 catalogues)`);
2. known data sets recognised by content (`known_data.json`: per language, the sha256 of each
   file, so the recorded per-language fingerprint can be re-derived for any `--limit`): LASER's
   Tatoeba v1, in LASER's or XTREME's file naming;
3. otherwise nothing is known but the per-language fingerprints: `group_unknown` puts runs in
   one group when no language they share has different data.

`--limit` is part of the key: a run on the first 100 pairs is not comparable to a full run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from xharness.data_manifest import manifest_summary, read_manifest
from xharness.hashing import sha256_bytes

KNOWN_DATA_FILE = "known_data.json"
HUB_FORMAT_PREFIX = "hf:"  # `Task.hub_source`: a result read from a Hugging Face data set
_DEMO_LABELS = {
    "xharness-demo-tatoeba": "demo ({package} {version} translation catalogues)",
    "xharness-demo-topics": "demo ({package} {version} dialogues)",
}


@dataclass(frozen=True)
class DataIdentity:
    """`key`: equal keys mean the same data; `label`: what a reader is told; `dataset`: a known data set's id."""

    key: str
    label: str
    dataset: str | None = None


@lru_cache(maxsize=1)
def known_datasets() -> dict[str, Any]:
    text = resources.files("xharness.leaderboard").joinpath(KNOWN_DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)["datasets"]


def language_fingerprint(file_digests: Sequence[str], limit: int | None) -> str:
    """The per-language fingerprint a task records: sha256 over each file's sha256, then the limit (tasks/tatoeba.py)."""
    h = hashlib.sha256()
    for digest in file_digests:
        h.update(bytes.fromhex(digest))
    h.update(str(limit).encode())
    return h.hexdigest()


def _limit(task_result) -> int | None:
    limit = (task_result.config or {}).get("limit")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def _with_limit(identity: DataIdentity, limit: int | None) -> DataIdentity:
    if limit is None:
        return identity
    return DataIdentity(f"{identity.key};limit={limit}", f"{identity.label}, first {limit} items", identity.dataset)


def _from_manifest(summary: Mapping[str, Any]) -> DataIdentity:
    source = summary.get("source") or {}
    package, version = source.get("package", "?"), source.get("version", "?")
    template = _DEMO_LABELS.get(summary["format"], summary["format"] + " ({package} {version})")
    return DataIdentity(f"manifest:{summary['format']}:{summary['fingerprint']}", template.format(package=package, version=version))


def _from_known(task: str, files: Mapping[str, Any], limit: int | None) -> DataIdentity | None:
    if not files:
        return None
    for dataset, spec in known_datasets().items():
        if spec["task"] != task:
            continue
        langs = spec["languages"]
        if all(
            lang in langs and isinstance(info, dict) and info.get("sha256") == language_fingerprint(langs[lang], limit)
            for lang, info in files.items()
        ):
            return DataIdentity(f"known:{dataset}", spec["label"], dataset)
    return None


def _from_hub(task_name: str, source: Mapping[str, Any], files: Mapping[str, Any], limit: int | None) -> DataIdentity:
    known = _from_known(task_name, files, limit)
    if known is not None:
        return known
    details = source.get("source") if isinstance(source.get("source"), dict) else {}
    revision = details.get("revision")
    label = source["format"] + (f"@{revision}" if isinstance(revision, str) and revision else "")
    return DataIdentity(f"{source['format']}:{source['fingerprint']}", label)


def identify(result) -> DataIdentity | None:
    """The data identity of a TaskResult, or None when only its per-language fingerprints are known."""
    task = result.task
    limit = _limit(result)
    summary = manifest_summary(task.get("data_source"))
    if summary is not None and summary["format"].startswith(HUB_FORMAT_PREFIX):
        files = task.get("data_files") if isinstance(task.get("data_files"), dict) else {}
        return _with_limit(_from_hub(task["name"], task["data_source"], files, limit), limit)
    if summary is None and isinstance(task.get("data_dir"), str):
        summary = read_manifest(Path(task["data_dir"]))
    if summary is not None:
        return _with_limit(_from_manifest(summary), limit)
    files = task.get("data_files") if isinstance(task.get("data_files"), dict) else {}
    known = _from_known(task["name"], files, limit)
    return _with_limit(known, limit) if known is not None else None


def language_fingerprints(result) -> dict[str, str]:
    files = result.task.get("data_files") if isinstance(result.task.get("data_files"), dict) else {}
    return {lang: info["sha256"] for lang, info in files.items() if isinstance(info, dict) and isinstance(info.get("sha256"), str)}


def group_unknown(results: Sequence[Any]) -> list[list[int]]:
    """Indices of results grouped so that no two in a group disagree on a shared language's data.

    Greedy in the given order: a result joins the first group it does not contradict (a result
    without per-language fingerprints joins the first group).

    Example:
        >>> class R:
        ...     def __init__(self, files): self.task = {"data_files": {k: {"sha256": v} for k, v in files.items()}}
        >>> group_unknown([R({"de": "a"}), R({"de": "b"}), R({"de": "a", "fr": "c"})])
        [[0, 2], [1]]
    """
    groups: list[tuple[list[int], dict[str, str]]] = []
    for i, result in enumerate(results):
        prints = language_fingerprints(result)
        for members, seen in groups:
            if all(seen.get(lang, fp) == fp for lang, fp in prints.items()):
                members.append(i)
                seen.update(prints)
                break
        else:
            groups.append(([i], dict(prints)))
    return [members for members, _ in groups]


def unknown_identity(results: Sequence[Any], *, limit: int | None) -> DataIdentity:
    """A group of results on unidentified data: labelled by its folder name where recorded, keyed by its fingerprints."""
    prints: dict[str, str] = {}
    for r in results:
        prints.update(language_fingerprints(r))
    short = sha256_bytes(json.dumps(sorted(prints.items())).encode())[:8]
    dirs = sorted({Path(r.task["data_dir"]).name for r in results if isinstance(r.task.get("data_dir"), str)})
    where = f"files in {', '.join(dirs)}" if dirs else "unidentified data"
    return DataIdentity(f"fingerprints:{short}", f"{where}, fingerprint {short}")
