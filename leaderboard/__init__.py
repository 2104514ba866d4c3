"""Aggregation of result files into per-language tables, and item-level comparison of runs.

Reading: `collect` (read and validate a results folder), `names` (display names), `references`
(published reference rows), `data_identity` (what data a result was computed on: the key that
keeps incomparable runs in separate tables, and the label that heads each table).
Statistics (data in, data out; no output formats): `tables` (leaderboard tables), `bootstrap`
(paired bootstrap, numpy only), `adjust` (p-values and their adjustment), `units` (per-item
outcomes -> bootstrap units, read from each task's declared `item_record`), `compare`
(`xharness compare`), `report` (`xharness report`; its models and `--baseline` in `report_models`), `heatmaps` (the report's figure data and
colour scale).
Rendering (one module per format): `formats` (number formats and escaping every renderer
shares); the leaderboard's `render_md`, `render_html`, `render_data` (CSV and JSON) and
`render` (writing); the comparison's `render_compare` (terminal, Markdown, JSON); the report's
`report_wording`, `render_report_md`, `render_report_html` (with `render_heatmap_svg`),
`render_report_json`, `render_figures` (SVG and PNG files) and `render_report` (writing);
`palette` (the HTML heatmap's colour-blind-safe scale). `export` writes results for other tools
(MTEB's result files, a long CSV/JSON-lines table); `trackers` logs them to TensorBoard or W&B
(`--log-to`, only when asked and installed).
`cli` holds the four commands; the committed example is built by `xharness.demo.make_example`.

The names below are imported lazily, so importing this package (as the CLI does at start-up)
costs nothing; `collect.collect`, `compare.compare` and `render.render` share their module's
name and are imported from their modules.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "build_leaderboard": "xharness.leaderboard.tables",
    "load_references": "xharness.leaderboard.references",
    "write_leaderboard": "xharness.leaderboard.render",
    "paired_bootstrap": "xharness.leaderboard.bootstrap",
    "resampled_deltas": "xharness.leaderboard.bootstrap",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'xharness.leaderboard' has no attribute {name!r}")
