"""Aggregation of result files into per-language tables, and item-level comparison of two runs.

Modules: `collect` (read and validate a results folder), `tables` (pure table building),
`references` (published reference rows), `render_md` / `render_html` / `render_data` /
`render` (output formats), `bootstrap` (paired bootstrap, numpy only), `compare` and
`render_compare` (`xharness compare`) and `cli` (the two commands); the committed example is
built by `xharness.demo.make_example`. The names below are imported lazily, so importing this
package (as the CLI does at start-up) costs nothing; `collect.collect`, `compare.compare` and
`render.render` share their module's name and are imported from their modules.
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
