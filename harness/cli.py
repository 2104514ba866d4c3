"""The `xharness` command line: eval, tasks, adapters, demo.

User errors (XharnessError) are printed once, as one line on stderr, with exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from xharness.errors import XharnessError
from xharness.hub_reference import is_reference
from xharness.tasks.mining import INDEXES, MARGINS, RETRIEVALS


class _Group(click.Group):
    """Catches our user errors once, for every command."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except XharnessError as exc:
            from xharness.distributed import world
            from xharness.table import printable

            rank = "" if world().is_main else f"[rank {world().rank}] "
            if not getattr(exc, "told_by_main", False):  # a refusal rank 0 decided is printed by rank 0 alone
                click.echo(f"xharness: error: {rank}{printable(str(exc))}", err=True)  # one line, whatever a path holds
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("xharness: interrupted; finished results are kept", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xharness")
def main() -> None:
    """Zero-shot cross-lingual transfer evaluation: retrieval and classification probes per language."""


def _parse_layer(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise XharnessError(f"--layer must be a whole number (0 = embeddings, -1 = last), 'all' or A:B, got '{value}'") from None


def _reporter(quiet: bool = False, log_format: str = "text"):
    """Progress and messages on stderr: a bar on a terminal, timestamped lines (or JSON) elsewhere."""
    from xharness.progress import reporter_for

    from xharness.distributed import is_main

    if quiet or not is_main():  # under a launcher, only rank 0 reports
        mode = "quiet"
    elif log_format == "json":
        mode = "json"
    else:
        mode = None  # bar on a terminal, text lines otherwise
    return reporter_for(mode)


def _log_options(command):
    command = click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                           help="Progress lines on stderr as text (a live bar on a terminal) or one JSON object a line.")(command)
    return click.option("-q", "--quiet", is_flag=True, help="No progress or messages on stderr (errors still show).")(command)


def _print_outcome(outcome) -> None:
    from xharness.table import result_table

    for result, path in zip(outcome.results, outcome.paths):
        click.echo("")
        click.echo(result_table(result))
        click.echo(f"written: {path}")


def _task_option_params() -> list[click.Option]:
    """One flag per declared task option, built from the declarations each time (a task registered late gets its flags too)."""
    from xharness.tasks import TASKS
    from xharness.tasks.options import merged

    by_task = {name: TASKS.get(name).options for name in TASKS.names()}
    params = []
    for option in merged(by_task.values()).values():
        defaults = {name: o.default for name, options in by_task.items() for o in options if o.name == option.name}
        same = len(set(map(repr, defaults.values()))) == 1
        users = ", ".join(defaults) if same else ", ".join(f"{n}: {d}" for n, d in defaults.items())
        text = f"{option.help} ({users}" + (f"; default {option.default})" if same else ")")
        if option.type is bool:  # a plain --flag; absent stays None, so tasks that lack it never see it
            params.append(click.Option([option.flag, option.name], is_flag=True, default=None, help=text))
            continue
        if option.choices:
            kind = click.Choice(option.choices)
        elif option.type is int:
            kind = click.IntRange(min=option.minimum)
        elif option.type is float:
            kind = click.FloatRange(min=option.minimum)
        else:
            kind = option.type
        params.append(click.Option([option.flag, option.name], type=kind, default=None, help=text))
    return params


class _EvalCommand(click.Command):
    """`eval` with the task options' flags added from the declarations (see tasks/options.py)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        return [*params[:-1], *_task_option_params(), params[-1]]  # --help stays last


def _data_source(value: str | None) -> Path | str | None:
    """A folder, or an `hf:` data set reference kept as written (the task opens it)."""
    if value is None or is_reference(value):
        return value
    return Path(value)


@main.command("eval", cls=_EvalCommand)
@click.argument("model")
@click.option("-t", "--task", "tasks", multiple=True, default=("tatoeba",), show_default=True, help="Task to run (repeatable).")
@click.option("-l", "--lang", "languages", multiple=True,
              help="Language code (repeatable, or comma-separated: -l de,fr), or 'all'. Default: the task's standard set.")
@click.option("--data-dir", help="Folder holding the task's data, or a Hugging Face data set: hf:OWNER/NAME[@REVISION][:CONFIG] or hf:FOLDER (see `xharness tasks`).")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=Path("results"), show_default=True)
@click.option("--adapter", default="auto", show_default=True, help="auto, transformers, sentence-transformers, or a plugin name.")
@click.option("--name", help="Model name for tables and the results folder (default: the folder or plugin name).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Default: cuda when available.")
@click.option("--pooling", type=click.Choice(["mean", "cls", "max", "last"]), help="transformers adapter only (default mean; last = final real token, for decoder-only models).")
@click.option("--layer", help="Hidden layer: 0 = embeddings, -1 = last (default); 'all' or A:B (inclusive) sweeps layers in one pass.")
@click.option("--max-length", type=click.IntRange(min=1), help="Tokens per sentence (default: the model's, at most 512).")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16"]))
@click.option("--max-tokens", type=click.IntRange(min=1), help="Token budget per batch (rows x longest row), so long sentences cannot exhaust memory.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N items per language.")
@click.option("--overwrite", is_flag=True, help="Run again even when a result exists.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the embedding cache.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Embedding cache folder (default: $XHARNESS_CACHE/embeddings, ~/.cache/xharness/embeddings).")
@click.option("--stream/--no-stream", default=None,
              help="hf: data read in batches where it lies (streamed), or through a prepared Arrow copy. Default: streamed "
              "for a hub-layout folder, map-style for a hub set, the offline cache and save_to_disk; changes no number.")
@click.option("--trust-remote-code", is_flag=True, help="Allow the checkpoint's own Python code to run.")
@click.option("--log-to", "trackers", multiple=True, metavar="tensorboard[:DIR]|wandb[:PROJECT]",
              help="Also log each result this run writes to TensorBoard or W&B (repeatable; needs the package: pip install 'xharness[tensorboard]').")
@_log_options
def eval_command(model, tasks, languages, data_dir, out_dir, adapter, name, batch_size, device, pooling, layer,
                 max_length, dtype, max_tokens, limit, overwrite, no_cache, cache_dir, stream, trust_remote_code, trackers, quiet,
                 log_format, **task_flags) -> None:
    """Evaluate MODEL (a checkpoint folder, a plugin name, or a hub id when online)."""
    from xharness.adapters.options import AdapterOptions
    from xharness.layers import is_sweep
    from xharness.leaderboard.trackers import parse_tracker, require
    from xharness.runner import EvalRequest, RunOptions, run_eval
    from xharness.tasks.languages import split_codes

    trackers = [parse_tracker(spec) for spec in trackers]
    for tracker in trackers:  # a missing package is refused before the model loads
        require(tracker)

    request = EvalRequest(
        model=model, tasks=tuple(tasks), languages=split_codes(languages),
        data_dir=_data_source(data_dir), adapter=adapter, name=name,
        adapter_options=AdapterOptions(
            pooling=pooling, layer=None if is_sweep(layer) else _parse_layer(layer), max_length=max_length,
            dtype=dtype, device=device, max_tokens=max_tokens, trust_remote_code=trust_remote_code,
        ),
        layer_sweep=layer if is_sweep(layer) else None,
        limit=limit,
        task_options={key: value for key, value in task_flags.items() if value is not None},
        run=RunOptions(out_dir=out_dir, batch_size=batch_size, overwrite=overwrite, cache=not no_cache, cache_dir=cache_dir,
                       stream=stream),
    )
    from xharness.distributed import is_main

    reporter, end = _reporter(quiet, log_format)
    try:
        outcome = run_eval(request, reporter=reporter)
    except BaseException:
        end(finished=False)
        raise
    end()
    if is_main():  # under a launcher, the other ranks print nothing
        _print_outcome(outcome)
        _log_to_trackers(outcome, out_dir, trackers)


def _log_to_trackers(outcome, out_dir: Path, trackers) -> None:
    from xharness.leaderboard.trackers import TrackedResult, log_results

    if trackers and outcome.skipped:  # said, not silently left out: the user asked for them to be logged
        specs = " ".join(f"--log-to {tracker}" for tracker in trackers)
        click.echo(f"not logged (finished before this run, skipped): {', '.join(map(str, outcome.skipped))}; "
                   f"`xharness export {out_dir} {specs}` logs every finished result", err=True)
    if not trackers or not outcome.results:
        return
    tracked = []
    for result, path in zip(outcome.results, outcome.paths):
        try:
            run = Path(path).relative_to(out_dir).with_suffix("").as_posix()
        except ValueError:
            run = f"{Path(path).parent.name}/{Path(path).stem}"
        tracked.append(TrackedResult(run=run, label=result.model["name"], result=result))
    for tracker in trackers:
        for where in log_results(tracked, tracker):
            click.echo(f"logged: {where}")


@main.command("tasks")
def tasks_command() -> None:
    """List the tasks, their languages and the data layout each expects."""
    from xharness.tasks import TASKS

    for name in TASKS.names():
        task_cls = TASKS.get(name)
        click.echo(f"{name}  (main score: {task_cls.main_metric}, version {task_cls.version})")
        click.echo(f"  {task_cls.description}")
        click.echo(f"  data layout: {task_cls.layout}")
        click.echo(f"  languages: {task_cls.languages_note}")
        for reader in task_cls.hub_readers:
            names = ", ".join(f"hf:{hub_id}" for hub_id in reader.names) or getattr(reader, "usage", "")
            click.echo(f"  hugging face: --data-dir {names}" + (f" ({reader.limitation})" if reader.limitation else ""))
        for option in task_cls.options:
            click.echo(f"  option {option.describe()}")


@main.command("adapters")
def adapters_command() -> None:
    """List what can load a model."""
    from xharness.adapters.resolve import list_adapters

    for entry in list_adapters():
        click.echo(f"{entry['name']}: {entry['description']}")


@main.command("mine")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("tgt", type=click.Path(path_type=Path))
@click.option("-m", "--model", required=True, help="Checkpoint folder, plugin name, or hub id when online.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="TSV file to write.")
@click.option("--format", "fmt", type=click.Choice(["auto", "plain", "bucc"]), default="auto", show_default=True)
@click.option("--k", "k", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--margin", type=click.Choice(MARGINS), default="ratio", show_default=True)
@click.option("--retrieval", type=click.Choice(RETRIEVALS), default="max", show_default=True)
@click.option("--index", type=click.Choice(INDEXES), default="flat", show_default=True)
@click.option("--threshold", type=float, help="Keep pairs scoring at least this much.")
@click.option("--adapter", default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--no-cache", is_flag=True)
def mine_command(src, tgt, model, out, fmt, k, margin, retrieval, index, threshold, adapter, batch_size, no_cache) -> None:
    """Mine parallel sentence pairs from two text files (one sentence per line, or id<TAB>sentence)."""
    from xharness.adapters import AdapterOptions, load_adapter
    from xharness.cache import EmbeddingCache
    from xharness.distributed import world
    from xharness.embedding import Embedder
    from xharness.mine_files import check_mine_inputs, mine_files

    if world().distributed:
        raise XharnessError("xharness mine runs in one process; start it without torchrun or accelerate launch")
    check_mine_inputs(src, tgt, out=out, threshold=threshold, fmt=fmt)  # before the model loads: a typo costs nothing
    loaded = load_adapter(model, adapter=adapter, options=AdapterOptions())
    cache = None if no_cache else EmbeddingCache(loaded.fingerprint, model={"name": loaded.name, "kind": loaded.kind})
    reporter, end = _reporter()
    embed = Embedder(loaded, batch_size=batch_size, cache=cache, progress=reporter.progress, label="mine", name=loaded.name)
    try:
        record: dict = {}
        written = mine_files(
            src, tgt, embed, out=out, fmt=fmt, k=k, margin=margin, retrieval=retrieval, threshold=threshold, index=index, record=record,
        )
    except BaseException:
        end(finished=False)
        raise
    end()
    click.echo(f"{written} pairs written to {out}")
    if "index_recall" in record:
        r = record["index_recall"]
        click.echo(f"{index} index: recall@{r['k']} {r['recall_at_k']:.4f} against exact search "
                   f"({r['queries']['fwd']} + {r['queries']['bwd']} sampled queries, seed {r['seed']})")


@main.group("cache")
def cache_group() -> None:
    """Inspect or clear the embedding cache."""


@cache_group.command("info")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Cache folder (default: the standard one).")
def cache_info(cache_dir: Path | None) -> None:
    """Fingerprints cached, vectors and size."""
    from xharness.cache import cache_summary, default_root
    from xharness.table import format_table

    root = cache_dir or default_root()
    entries = cache_summary(root)
    click.echo(f"embedding cache: {root}")
    if not entries:
        click.echo("empty")
        return
    rows = [
        [e["fingerprint"][:16], ", ".join(e["models"]) or "(unknown: cached before names were kept)", str(e["vectors"]),
         str(e["shards"]), f"{e['bytes'] / 1e6:.1f} MB"]
        for e in entries
    ]
    click.echo(format_table(["fingerprint", "model", "vectors", "shards", "size"], rows, align_right_from=2))


@cache_group.command("clear")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Cache folder (default: the standard one).")
def cache_clear(cache_dir: Path | None) -> None:
    """Delete every cached embedding."""
    from xharness.cache import clear_cache, default_root

    root = cache_dir or default_root()
    removed = clear_cache(root)
    click.echo(f"removed {removed} fingerprint folder(s) from {root}")


@main.command("demo")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=Path("results/demo"), show_default=True)
@click.option("--overwrite/--no-overwrite", default=True, show_default=True)
@_log_options
def demo_command(out_dir: Path, overwrite: bool, quiet: bool, log_format: str) -> None:
    """Offline demo: two real models on real translations built from installed packages."""
    from xharness.demo import run_demo

    reporter, end = _reporter(quiet, log_format)
    try:
        run_demo(out_dir, overwrite=overwrite, reporter=reporter, show=_print_outcome)
    except BaseException:
        end(finished=False)
        raise
    end()


# The aggregation commands live with the leaderboard package; they import nothing heavy.
from xharness.leaderboard.cli import compare_command, export_command, leaderboard_command, report_command  # noqa: E402

main.add_command(leaderboard_command)
main.add_command(compare_command)
main.add_command(report_command)
main.add_command(export_command)
