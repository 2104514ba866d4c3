"""Results for other tools: MTEB's result files, and a long table (CSV or JSON lines) of every number.

MTEB (`--format mteb`): one folder per model, `<model name, '/' as '__'>/no_revision_available/`,
holding `model_meta.json` and one `<TaskName>.json` per task in the shape of mteb's `TaskResult`
(`dataset_revision`, `task_name`, `mteb_version`, `scores` = {split: [{..., "main_score",
"hf_subset", "languages"}]}, `evaluation_time`, `kg_co2_emissions`), scores as fractions.
- `tatoeba` -> `Tatoeba`, split `test`, subsets `deu-eng` (LASER's codes), languages
  `["deu-Latn", "eng-Latn"]`. MTEB queries with the other language and reports a
  support-weighted F1 over the English lines (`main_score` = `f1`): recomputed here from the
  per-item `predicted_xx2en` (see `mteb_bitext_scores`); `accuracy` is our `accuracy_xx2en`.
  Only results on LASER's Tatoeba v1 (recognised by content, no --limit) are exported.
- `bucc2018` -> `BUCC`, subsets `de-en`, `fr-en`, `ru-en`, `zh-en`: our mining F1, precision
  and recall with the dev-tuned threshold (a different protocol from mteb's BUCC evaluator); not
  a run with --limit.
`dataset_revision` is `xharness-data-<12 hex of our data fingerprint>` (we never claim mteb's
Hugging Face revision), `mteb_version` names the mteb result format followed ("1.12.48": no
historic conversion on load), and an `xharness` key (ignored by mteb) keeps the provenance.

Long (`--format long` CSV, `--format jsonl`): one row per (result, language, metric): model,
task, protocol (12 hex), data (the leaderboard's data label), language, metric, value, n, source.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from xharness.errors import XharnessError
from xharness.fileio import atomic_write_text
from xharness.leaderboard.collect import ResultEntry
from xharness.leaderboard.data_identity import identify, unknown_identity
from xharness.leaderboard.tables import protocol_key
from xharness.results import load_items
from xharness.tasks.languages import SHORT_TO_LASER

MTEB_FORMAT_VERSION = "1.12.48"
MODEL_REVISION = "no_revision_available"
# LASER codes whose script is not Latin (ISO 15924); every other language is written in Latin script.
SCRIPTS = {
    "amh": "Ethi", "ara": "Arab", "arq": "Arab", "arz": "Arab", "awa": "Deva", "bel": "Cyrl", "ben": "Beng",
    "ber": "Tfng", "bul": "Cyrl", "cmn": "Hans", "ell": "Grek", "heb": "Hebr", "hin": "Deva", "hye": "Armn",
    "jpn": "Jpan", "kat": "Geor", "kaz": "Cyrl", "khm": "Khmr", "kor": "Hang", "mal": "Mlym", "mar": "Deva",
    "max": "Deva", "mhr": "Cyrl", "mkd": "Cyrl", "mon": "Cyrl", "orv": "Cyrl", "pes": "Arab", "rus": "Cyrl",
    "srp": "Cyrl", "tam": "Taml", "tat": "Cyrl", "tel": "Telu", "tha": "Thai", "uig": "Arab", "ukr": "Cyrl",
    "urd": "Arab", "wuu": "Hans", "yid": "Hebr", "yue": "Hant",
}
BUCC_LANGUAGES = {"de": "deu-Latn", "fr": "fra-Latn", "ru": "rus-Cyrl", "zh": "cmn-Hans"}


def mteb_bitext_scores(predicted: Sequence[int]) -> dict[str, float]:
    """MTEB's bitext-mining numbers for queries i whose gold target is line i, from the top-1 predictions.

    Per gold line i: recall is 1 when query i found it; precision is that over how many queries
    picked line i (0 when none did). Each line has support 1, so the support-weighted means are
    plain means over the lines.

    Example:
        >>> mteb_bitext_scores([0, 0, 2])  # query 1 wrongly picks line 0
        {'precision': 0.5, 'recall': 0.6666666666666666, 'f1': 0.5555555555555555, 'accuracy': 0.6666666666666666}
    """
    pred = np.asarray(predicted, dtype=np.int64)
    n = pred.size
    if n == 0:
        raise ValueError("no predictions")
    right = pred == np.arange(n)
    picked = np.bincount(pred[(pred >= 0) & (pred < n)], minlength=n).astype(np.float64)
    precision = np.divide(right, picked, out=np.zeros(n), where=picked > 0)
    recall = right.astype(np.float64)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(n), where=denom > 0)
    return {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean()), "accuracy": float(right.mean())}


def _languages_tag(laser: str) -> str:
    return f"{laser}-{SCRIPTS.get(laser, 'Latn')}"


def _provenance(entry: ResultEntry) -> dict[str, Any]:
    r = entry.result
    return {
        "source": entry.source, "task": r.task["name"], "data_fingerprint": r.task.get("data_fingerprint"),
        "model_fingerprint": r.model.get("fingerprint"), "versions": r.versions,
    }


def _tatoeba(entry: ResultEntry) -> tuple[str, list[dict[str, Any]]] | str:
    identity = identify(entry.result)
    if identity is None or identity.key != "known:laser-tatoeba-v1":
        return "not LASER's Tatoeba v1 test files (or run with --limit): MTEB's Tatoeba is those files"
    try:
        items = load_items(entry.path)
    except XharnessError as exc:
        return str(exc)
    subsets = []
    for lang in entry.result.scores:
        outcome = (items or {}).get(lang) or {}
        if "predicted_xx2en" not in outcome:
            return f"{lang}: the per-item file lacks predicted_xx2en (needed for MTEB's F1)"
        scores = mteb_bitext_scores(outcome["predicted_xx2en"])
        laser = SHORT_TO_LASER.get(lang, lang)
        subsets.append({**scores, "main_score": scores["f1"], "hf_subset": f"{laser}-eng", "languages": [_languages_tag(laser), "eng-Latn"]})
    return "Tatoeba", subsets


def _bucc(entry: ResultEntry) -> tuple[str, list[dict[str, Any]]] | str:
    limit = (entry.result.config or {}).get("limit")
    if limit is not None:  # as for Tatoeba: a subset's F1 is not BUCC's
        return f"run with --limit {limit} (the first {limit} sentences of each side): MTEB's BUCC is the whole set"
    subsets = []
    for lang, score in entry.result.scores.items():
        if lang not in BUCC_LANGUAGES:
            return f"{lang}: not one of BUCC's languages"
        m = {k: score.metrics.get(k) for k in ("precision", "recall", "f1")}
        if any(v is None for v in m.values()):
            return f"{lang}: no test-split F1 (a dev-only run)"
        fractions = {k: v / 100.0 for k, v in m.items()}
        subsets.append({**fractions, "main_score": fractions["f1"], "hf_subset": f"{lang}-en", "languages": [BUCC_LANGUAGES[lang], "eng-Latn"]})
    return "BUCC", subsets


MTEB_TASKS = {"tatoeba": _tatoeba, "bucc2018": _bucc}


def mteb_task_result(entry: ResultEntry) -> dict[str, Any] | str:
    """The MTEB TaskResult mapping of one result, or why it cannot be one."""
    convert = MTEB_TASKS.get(entry.task)
    if convert is None:
        return f"task '{entry.task}' has no MTEB counterpart here (exported: {', '.join(MTEB_TASKS)})"
    converted = convert(entry)
    if isinstance(converted, str):
        return converted
    name, subsets = converted
    timing = entry.result.timing or {}
    fingerprint = str(entry.result.task.get("data_fingerprint") or "")
    return {
        "dataset_revision": f"xharness-data-{fingerprint[:12]}",
        "task_name": name,
        "mteb_version": MTEB_FORMAT_VERSION,
        "scores": {"test": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.items()} for s in subsets]},
        "evaluation_time": round(float(sum(v for v in timing.values() if isinstance(v, (int, float)))), 4),
        "kg_co2_emissions": None,
        "xharness": _provenance(entry),
    }


def write_mteb(entries: Iterable[ResultEntry], out: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Write MTEB result folders under `out`; returns (files written, [(source, why skipped)])."""
    written, skipped, seen = [], [], {}
    for entry in entries:
        converted = mteb_task_result(entry)
        if isinstance(converted, str):
            skipped.append((entry.source, converted))
            continue
        folder = Path(out) / entry.model.replace("/", "__") / MODEL_REVISION
        path = folder / f"{converted['task_name']}.json"
        if path in seen:  # the same model name in two folders (a rerun, the demo's): the folder tells them apart
            where = Path(entry.source).parent.as_posix().replace("/", "__")
            folder = Path(out) / f"{entry.model.replace('/', '__')}__{where}" / MODEL_REVISION
            path = folder / f"{converted['task_name']}.json"
        if path in seen:
            raise XharnessError(f"{entry.source} and {seen[path]} would both be {path}")
        seen[path] = entry.source
        atomic_write_text(path, json.dumps(converted, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        meta = folder / "model_meta.json"
        atomic_write_text(meta, json.dumps({"name": entry.model, "revision": MODEL_REVISION,
                                            "xharness": {"model": entry.result.model}}, indent=2, ensure_ascii=False) + "\n")
        written += [path] if meta in written else [path, meta]
    return written, skipped


LONG_COLUMNS = ("model", "task", "protocol", "data", "language", "metric", "value", "n", "source")


def long_rows(entries: Sequence[ResultEntry]) -> list[dict[str, Any]]:
    """Every number of every result, one row per (result, language, metric)."""
    rows = []
    for entry in entries:
        r = entry.result
        identity = identify(r) or unknown_identity([r], limit=None)
        protocol = protocol_key(r.task)[:12]
        for lang, score in r.scores.items():
            for metric, value in {"main_score": score.main_score, **dict(score.metrics)}.items():
                if value is None:
                    continue
                rows.append({"model": entry.display, "task": entry.task, "protocol": protocol, "data": identity.label,
                             "language": lang, "metric": metric, "value": value, "n": score.n, "source": entry.source})
    return rows


def render_long(entries: Sequence[ResultEntry], fmt: str) -> str:
    rows = long_rows(entries)
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LONG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
