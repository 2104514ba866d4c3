"""The `xharness leaderboard`, `compare`, `report` and `export` commands (registered on the main group)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import click

from xharness.errors import XharnessError


def _codes(ctx, param, values):
    """`-l de,fr` as `-l de -l fr`, as `eval` takes them."""
    from xharness.tasks.languages import split_codes

    return split_codes(values)


FORMAT_CHOICES = ("md", "html", "csv", "json")


def build(
    results_dir: Path,
    *,
    languages=(),
    tasks=(),
    skip_invalid: bool = False,
    references: bool = True,
    references_file: Path | None = None,
    title: str = "xharness leaderboard",
    timestamp: bool = False,
    exclude=(),
    warn=None,
):
    """Collect, validate and tabulate a results folder (what the command does before rendering)."""
    from xharness.leaderboard.collect import collect
    from xharness.leaderboard.references import load_references
    from xharness.leaderboard.tables import build_leaderboard

    collection = collect(results_dir, skip_invalid=skip_invalid, exclude=exclude, by_folder=True)
    for skipped in collection.skipped:
        if warn is not None:
            warn(f"skipped invalid result file: {skipped.reason}")
    refs = load_references(references_file) if references else []
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if timestamp else None
    return build_leaderboard(
        collection.entries,
        languages=languages,
        tasks=tasks,
        references=refs,
        title=title,
        skipped=[(s.source, s.reason) for s in collection.skipped],
        generated=generated,
    )


def _warn(message: str) -> None:
    click.echo(f"xharness: warning: {message}", err=True)


@click.command("leaderboard")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder to write leaderboard.<format> into (default: print one format to stdout).")
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(FORMAT_CHOICES),
              help="Output format (repeatable). Default: md on stdout; all four with -o.")
@click.option("-l", "--lang", "languages", multiple=True, callback=_codes, help="Only this language (repeatable, or comma-separated: -l de,fr).")
@click.option("-t", "--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option("--skip-invalid", is_flag=True, help="Leave out invalid result files with a warning instead of stopping.")
@click.option("--references/--no-references", default=True, show_default=True,
              help="Show the published reference rows (numbers reported in papers, not run here).")
@click.option("--references-file", type=click.Path(path_type=Path), help="Reference rows from this JSON file instead of the packaged ones.")
@click.option("--title", default="xharness leaderboard", show_default=True)
@click.option("--timestamp", is_flag=True, help="Write the generation time into the outputs (off by default: regenerating gives identical bytes).")
def leaderboard_command(results_dir, out_dir, formats, languages, tasks, skip_invalid, references, references_file, title, timestamp) -> None:
    """Per-task model x language tables and an overview from every result file under RESULTS_DIR."""
    from xharness.leaderboard.render import render, write_leaderboard

    formats = tuple(dict.fromkeys(formats))
    if out_dir is None and len(formats) > 1:
        raise XharnessError("several formats need -o/--out (a folder to write them into)")
    board = build(
        results_dir, languages=languages, tasks=tasks, skip_invalid=skip_invalid, references=references,
        references_file=references_file, title=title, timestamp=timestamp,
        exclude=[out_dir] if out_dir is not None else [], warn=_warn,
    )
    if out_dir is None:
        click.echo(render(board, formats[0] if formats else "md"), nl=False)
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise XharnessError(f"{out_dir}: -o must be a folder")
    for path in write_leaderboard(board, out_dir, formats or FORMAT_CHOICES):
        click.echo(f"written: {path}", err=True)


@click.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True)
@click.option("-o", "--out", "out_file", type=click.Path(path_type=Path), help="Write to this file instead of stdout.")
@click.option("-t", "--task", "tasks", multiple=True, help="Only this task (repeatable; folders only).")
@click.option("-l", "--lang", "languages", multiple=True, callback=_codes, help="Only this language (repeatable, or comma-separated: -l de,fr).")
@click.option("--resamples", type=click.IntRange(min=1), default=10_000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed (fixed: the same inputs give the same intervals).")
@click.option("--confidence", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=0.95, show_default=True)
@click.option("--adjust", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Multiple-comparison adjustment over each task's per-language tests (as report); none: flag where the interval excludes 0.")
def compare_command(a, b, fmt, out_file, tasks, languages, resamples, seed, confidence, adjust) -> None:
    """Per task and language: the scores of A and B, B - A, and a paired bootstrap interval.

    A and B are two result files of one task, or two model folders (results/<model>/).
    """
    from xharness.fileio import atomic_write_text
    from xharness.leaderboard.compare import compare
    from xharness.leaderboard.render_compare import RENDERERS

    comparison = compare(a, b, n_resamples=resamples, seed=seed, confidence=confidence, tasks=tasks, languages=languages, adjust=adjust)
    text = RENDERERS[fmt](comparison)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(out_file, text)
        click.echo(f"written: {out_file}", err=True)


REPORT_FORMATS = ("md", "html", "json")


@click.command("report")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--baseline", required=True, help="The model every other one is compared with (its name, folder slug or display name).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder to write report.<format> and the figure files into (default: print one format to stdout).")
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(REPORT_FORMATS),
              help="Output format (repeatable). Default: md on stdout; all three with -o.")
@click.option("--adjust", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Multiple-comparison adjustment over each task's per-language tests: Holm-Bonferroni, Benjamini-Hochberg, or none.")
@click.option("--names", "names_file", type=click.Path(path_type=Path),
              help="TOML or JSON file mapping model slugs to display names and intermediate tasks.")
@click.option("--figures", "figure_formats", multiple=True, type=click.Choice(["svg", "png", "none"]),
              help="Figure files to write with -o (repeatable). Default: svg and png.")
@click.option("-t", "--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option("-l", "--lang", "languages", multiple=True, callback=_codes, help="Only this language (repeatable, or comma-separated: -l de,fr).")
@click.option("--resamples", type=click.IntRange(min=1), default=10_000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed (fixed: the same folder gives the same report).")
@click.option("--confidence", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=0.95, show_default=True,
              help="Interval level; alpha = 1 - confidence for significance.")
@click.option("--skip-invalid", is_flag=True, help="Leave out invalid result files with a warning instead of stopping.")
@click.option("--title", default="xharness transfer report", show_default=True)
def report_command(results_dir, baseline, out_dir, formats, adjust, names_file, figure_formats, tasks, languages, resamples, seed,
                   confidence, skip_invalid, title) -> None:
    """Every checkpoint in RESULTS_DIR against --baseline: per task and language, the delta of the main
    score with a paired bootstrap interval, task means, an overall mean, and delta heatmaps."""
    from xharness.leaderboard.names import load_names
    from xharness.leaderboard.render_report import render, write_report
    from xharness.leaderboard.report import build_report

    formats = tuple(dict.fromkeys(formats))
    if out_dir is None and len(formats) > 1:
        raise XharnessError("several formats need -o/--out (a folder to write them into)")
    if out_dir is None and figure_formats and set(figure_formats) != {"none"}:
        raise XharnessError("--figures needs -o/--out (a folder to write the figure files into)")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise XharnessError(f"{out_dir}: -o must be a folder")
    report = build_report(
        results_dir, baseline=baseline, names=load_names(names_file), adjust=adjust, n_resamples=resamples, seed=seed,
        confidence=confidence, tasks=tasks, languages=languages, skip_invalid=skip_invalid,
        exclude=[out_dir] if out_dir is not None else [], title=title,
    )
    for source, reason in report.skipped:
        _warn(f"skipped invalid result file: {reason}")
    if out_dir is None:
        click.echo(render(report, formats[0] if formats else "md"), nl=False)
        return
    figures = () if "none" in figure_formats else (figure_formats or ("svg", "png"))
    for path in write_report(report, out_dir, formats or REPORT_FORMATS, figure_formats=figures):
        click.echo(f"written: {path}", err=True)


@click.command("export")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(["mteb", "long", "jsonl"]),
              help="mteb: MTEB result folders (needs -o); long: one CSV row per language and metric; jsonl: the same rows as JSON lines.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path),
              help="Folder (mteb) or file (long, jsonl; default stdout).")
@click.option("--log-to", "trackers", multiple=True, metavar="tensorboard[:DIR]|wandb[:PROJECT]",
              help="Log every result to TensorBoard or W&B, one run per model and task (repeatable; needs the package).")
@click.option("--skip-invalid", is_flag=True, help="Leave out invalid result files with a warning instead of stopping.")
def export_command(results_dir, fmt, out, trackers, skip_invalid) -> None:
    """Every result under RESULTS_DIR in a format other tools read (MTEB's results, a long table), or logged to a tracker."""
    from xharness.fileio import atomic_write_text
    from xharness.leaderboard.collect import collect
    from xharness.leaderboard.export import render_long, write_mteb
    from xharness.leaderboard.trackers import TrackedResult, log_results, parse_tracker, require

    if fmt is None and not trackers:
        raise XharnessError("give -f/--format (mteb, long, jsonl) or --log-to (tensorboard[:DIR], wandb[:PROJECT])")
    if fmt == "mteb" and out is None:  # refused before anything is logged
        raise XharnessError("--format mteb needs -o/--out (a folder to write the model folders into)")
    trackers = [parse_tracker(spec) for spec in trackers]
    for tracker in trackers:
        require(tracker)
    collection = collect(results_dir, skip_invalid=skip_invalid, by_folder=True, exclude=[out] if out is not None else [])
    for skipped in collection.skipped:
        _warn(f"skipped invalid result file: {skipped.reason}")
    tracked = [TrackedResult(run=PurePosixPath(e.source).with_suffix("").as_posix(), label=e.display, result=e.result)
               for e in collection.entries]
    for tracker in trackers:
        for where in log_results(tracked, tracker):
            click.echo(f"logged: {where}", err=True)
    if fmt is None:
        return
    if fmt == "mteb":
        written, left_out = write_mteb(collection.entries, out)
        for source, why in left_out:
            _warn(f"not exported to MTEB's format: {source}: {why}")
        for path in written:
            click.echo(f"written: {path}", err=True)
        if not written:
            raise XharnessError("no result could be exported in MTEB's format (see the warnings above)")
        return
    text = render_long(collection.entries, fmt)
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        click.echo(f"written: {out}", err=True)
