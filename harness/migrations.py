"""Older result formats brought up to the current one, keyed on `schema_version` (apart from the reader).

Version 1 -> 2: Tatoeba recorded its margin neighbours as `config.margin_k` (BUCC as `k`): one
name per concept now, `k`. The batch size, which changes no number, moved from `config` to `run`.
"""

from __future__ import annotations

from typing import Any, Callable


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    config = dict(data.get("config") or {}) if isinstance(data.get("config"), dict) else data.get("config")
    run = dict(data.get("run") or {}) if isinstance(data.get("run"), dict) else {}
    if isinstance(config, dict):
        if "margin_k" in config and "k" not in config:
            config["k"] = config.pop("margin_k")
        if "batch_size" in config:
            run.setdefault("batch_size", config.pop("batch_size"))
    return {**data, "config": config, "run": run, "schema_version": 2}


# from_version -> step to the next version
STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def migrate(data: Any) -> Any:
    """`data` in the current schema when it is an older known version; anything else unchanged."""
    while isinstance(data, dict) and isinstance(data.get("schema_version"), int) and data["schema_version"] in STEPS:
        data = STEPS[data["schema_version"]](data)
    return data
