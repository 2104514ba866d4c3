"""The transfer report as JSON: every number, unrounded, and the method in words."""

from __future__ import annotations

import json
from typing import Any

from xharness.leaderboard.adjust import LABELS
from xharness.leaderboard.report import Report
from xharness.leaderboard.report_wording import P_VALUE_RULE


def _model_dict(model) -> dict[str, Any]:
    return {"model": model.name, "slug": model.slug, "label": model.label, "intermediate": model.intermediate, "folder": model.folder}


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "format": "xharness-report",
        "version": 1,
        "title": report.title,
        "baseline": _model_dict(report.baseline),
        "delta": "checkpoint - baseline (main_score points)",
        "bootstrap": {
            "resamples": report.n_resamples, "seed": report.seed, "confidence": report.confidence,
            "interval": "percentile, per cell, unadjusted", "paired": "both runs' items resampled together (as xharness compare)",
            "p_value": P_VALUE_RULE,
        },
        "adjustment": {
            "method": report.adjust, "description": LABELS[report.adjust],
            "family": "the per-language tests of one checkpoint on one task",
            "alpha": report.alpha, "significant": "p_adjusted <= alpha",
            "means": "task means and the overall mean are single tests, not adjusted (p_adjusted = p)",
        },
        "names_file": report.names_source,
        "filters": {"tasks": list(report.task_filter), "languages": list(report.language_filter)},
        "tasks": [
            {"task": t.name, "main_metric": t.main_metric, "resampled_units": t.unit, "languages": list(t.languages),
             # Present (false) only for lower-is-better tasks: files of the usual direction keep their bytes.
             **({} if t.higher_is_better else {"higher_is_better": False})}
            for t in report.tasks
        ],
        "checkpoints": [
            {
                **_model_dict(ck.model),
                "tasks": {
                    t.task: {
                        "languages": {c.key: c.to_dict() for c in t.cells},
                        "mean": t.mean.to_dict(),
                        "only_baseline": list(t.only_baseline),
                        "only_checkpoint": list(t.only_checkpoint),
                    }
                    for t in ck.tasks
                },
                "overall": ck.overall.to_dict() if ck.overall else None,
                "missing_tasks": list(ck.missing_tasks),
                "extra_tasks": list(ck.extra_tasks),
                # Present only when some task ran on other data: reports without it keep their bytes.
                **({"other_data": list(ck.other_data)} if ck.other_data else {}),
            }
            for ck in report.checkpoints
        ],
        "notes": list(report.notes),
        "sources": list(report.sources),
        "skipped": [{"source": s, "reason": r} for s, r in report.skipped],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
