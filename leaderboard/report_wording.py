"""The transfer report's own sentences and the rows every format shows, shared by its renderers."""

from __future__ import annotations

from typing import Iterable

from xharness.leaderboard.adjust import LABELS
from xharness.leaderboard.formats import DASH, format_delta, format_interval
from xharness.leaderboard.report import Checkpoint, DeltaCell, Report, TaskInfo

P_VALUE_RULE = "two-sided bootstrap p = min(1, 2 * min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1)) over the B resampled deltas d*"
P_VALUE_TEXT = "two-sided bootstrap p-value, `p = min(1, 2·min(#{d* ≤ 0} + 1, #{d* ≥ 0} + 1) / (B + 1))` over the B resampled deltas d*"


def marked(cell: DeltaCell) -> str:
    return format_delta(cell.delta) + ("*" if cell.significant else "")


def with_interval(cell: DeltaCell | None) -> str:
    if cell is None:
        return DASH
    return marked(cell) + (f" {format_interval(cell)}" if cell.low is not None else "")


def adjustment_sentence(report: Report) -> str:
    alpha = f"{report.alpha:g}"
    if report.adjust == "none":
        return f"Multiple comparisons: no adjustment (`--adjust none`); * marks a per-language difference with p ≤ {alpha}."
    return (f"Multiple comparisons: {LABELS[report.adjust]} over the per-language tests of each checkpoint and task "
            f"(`--adjust {report.adjust}`); * marks a per-language difference whose adjusted p ≤ {alpha}.")


def method_sentences(report: Report) -> list[str]:
    """The method in a few sentences (our own text: `code` spans are the only markup)."""
    level = f"{report.confidence:.0%}"
    return [
        f"Delta = checkpoint − baseline, in main-score points, per task and per language both runs have, with a {level} "
        f"paired bootstrap percentile interval ({report.n_resamples} resamples, seed {report.seed}; both runs' items "
        "resampled together, as `xharness compare` does).",
        adjustment_sentence(report),
        "Task means (unweighted, over the languages both runs have) and the overall mean (unweighted over tasks, "
        f"XTREME's convention, only for checkpoints with every task) are single tests, not adjusted: * when p ≤ {report.alpha:g}.",
        f"p: {P_VALUE_TEXT}. Intervals are per cell and unadjusted.",
    ]


def left_out(report: Report) -> list[tuple[str, str]]:
    """(checkpoint label, sentence) for everything a checkpoint leaves out."""
    out = []
    for ck in report.checkpoints:
        for t in ck.tasks:
            if t.only_baseline:
                out.append((ck.model.label, f"{t.task}: left out, only the baseline has {', '.join(t.only_baseline)}"))
            if t.only_checkpoint:
                out.append((ck.model.label, f"{t.task}: left out, only the checkpoint has {', '.join(t.only_checkpoint)}"))
        out += [(ck.model.label, sentence) for sentence in ck.other_data]
        if ck.missing_tasks:
            out.append((ck.model.label, f"no comparable result for {', '.join(ck.missing_tasks)} (no overall mean)"))
        if ck.extra_tasks:
            out.append((ck.model.label, f"not in the report, the baseline has no result for {', '.join(ck.extra_tasks)}"))
    return out


def cell_notes(report: Report) -> list[tuple[str, str]]:
    out = []
    for ck in report.checkpoints:
        for t in ck.tasks:
            for cell in (*t.cells, t.mean):
                if cell.note:
                    out.append((ck.model.label, f"{t.task}/{cell.key}: {cell.note}"))
        if ck.overall is not None and ck.overall.note:
            out.append((ck.model.label, f"overall: {ck.overall.note}"))
    return out


def detail_rows(report: Report, task: str) -> Iterable[tuple[Checkpoint, DeltaCell]]:
    for ck in report.checkpoints:
        deltas = ck.task(task)
        if deltas is None:
            continue
        for cell in deltas.cells:
            yield ck, cell
        yield ck, deltas.mean


def p_adjusted_header(report: Report) -> str:
    return {"holm": "p (Holm)", "bh": "p (BH)", "none": "p (unadjusted)"}[report.adjust]


def direction_sentence(info: TaskInfo) -> str:
    """For a lower-is-better task, what the sign of a delta means (empty for the usual direction)."""
    return "" if info.higher_is_better else " Lower is better on this task: a negative delta is a gain."
