"""Vision-language dual encoders (CLIP, SigLIP, ...): recognise them from config.json, embed text with the text tower.

`AutoModel` on a CLIP folder builds both towers, and its forward pass wants pixels. Here the
family table says, per `model_type`, how to build the text tower alone (or build the pair and
drop the vision side), what its "text features" are, and how it was fed text (SigLIP: padded
to a fixed 64 tokens, no attention mask; CLIP: 77 positions, padded to the batch). The top of
the module reads configs without importing torch; `TextTowerAdapter` below does the encoding.
"""

from __future__ import annotations

import copy
import gc
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xharness.adapters.base import check_embeddings, digest, folder_fingerprint
from xharness.adapters.batching import length_sorted_batches
from xharness.adapters.transformers_adapter import (
    absolute_layer,
    check_max_tokens,
    DEFAULT_MAX_LENGTH_CAP,
    POOLINGS,
    check_dtype_device,
    check_texts,
    config_error,
    dtype_keyword,
    has_tokenizer_files,
    limit_cpu_threads,
    normalise_dtype,
    one_line,
    pool,
    positions_limit,
    quiet_transformers,
    resolve_device,
    safe_weights_kwargs,
    torch_dtype,
    weights_error,
)
from xharness.errors import XharnessError


@dataclass(frozen=True)
class Family:
    """How one `model_type` of dual encoder is split and fed.

    Attributes:
        model_type: the top-level `model_type` of config.json.
        label: the name people know it by.
        text_class: a transformers class that loads the text tower and its projection alone from
            the full checkpoint (vision weights are never built); None builds the pair and drops vision.
        tower: attribute path, inside what was loaded, to the bare text transformer whose hidden
            states `--pooling`/`--layer` pool ("" = the loaded module itself).
        padding: "longest" (pad to the batch, with an attention mask) or "max_length" (every text
            padded to the full length, no attention mask: how SigLIP was trained).
        trained_length: the text length the released models were trained with, when shorter than
            their position table (Chinese-CLIP 52, AltCLIP 77); the default max length.
        projection: where the projected width is: top-level "projection_dim", or the text
            config's "projection_size" (SigLIP's head).
    """

    model_type: str
    label: str
    text_class: str | None
    tower: str
    padding: str = "longest"
    trained_length: int | None = None
    projection: str = "projection_dim"

    @property
    def attention_mask(self) -> bool:
        return self.padding == "longest"


FAMILIES: dict[str, Family] = {
    f.model_type: f
    for f in (
        Family("clip", "CLIP", "CLIPTextModelWithProjection", "text_model"),
        # SigLIP 2 at fixed resolution ships as model_type "siglip" too (with a Gemma tokenizer).
        Family("siglip", "SigLIP / SigLIP 2", "SiglipTextModel", "", "max_length", projection="projection_size"),
        Family("siglip2", "SigLIP 2 NaFlex", "Siglip2TextModel", "", "max_length", projection="projection_size"),
        # cn_clip tokenizes to 52 tokens; FlagAI's AltCLIP processor truncates at 77.
        Family("chinese_clip", "Chinese-CLIP", None, "text_model", trained_length=52),
        Family("altclip", "AltCLIP (XLM-R text tower)", None, "text_model.roberta", trained_length=77),
        Family("metaclip_2", "MetaCLIP 2", "MetaClip2TextModelWithProjection", "text_model"),
        Family("vision-text-dual-encoder", "VisionTextDualEncoder (any text encoder + any vision encoder)", None, "text_model"),
    )
}
# Text towers that attend left to right: their first token sees only itself, so cls pooling is a constant.
CAUSAL_TEXT_TYPES = frozenset({"clip_text_model", "metaclip_2_text_model"})
# Positions counted from pad_token_id + 1 (RoBERTa style), beyond those transformers_adapter knows.
_OFFSET_TEXT_TYPES = {"altclip_text_model": "xlm-roberta"}
VISION_ONLY_TYPES = frozenset(
    "vit vit_mae vit_msn vit_hybrid deit beit data2vec-vision dinov2 dinov2_with_registers dinov3_vit "
    "ijepa swin swinv2 convnext convnextv2 resnet regnet efficientnet mobilenet_v2 mobilevit levit "
    "pvt pvt_v2 hiera aimv2_vision_model".split()
)
_GENERATIVE_SUFFIXES = ("ForConditionalGeneration", "ForCausalLM", "ForImageTextToText", "ForVision2Seq", "LMHeadModel")


def families_note() -> str:
    """One line naming the recognised families, for `xharness adapters`."""
    return ", ".join(f"{f.label} ({f.model_type})" for f in FAMILIES.values())


def _sub(config: Mapping[str, Any], side: str) -> dict[str, Any] | None:
    """`text_config` / `vision_config`, merged with the older `*_config_dict` spelling CLIP once saved."""
    parts = [config.get(f"{side}_config"), config.get(f"{side}_config_dict")]
    parts = [p for p in parts if isinstance(p, Mapping)]
    if not parts:
        return None
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


def classify(config: Mapping[str, Any], *, where: str = "the checkpoint") -> Family | None:
    """The dual-encoder family of a config.json, or None for a text checkpoint.

    Raises XharnessError, in one line naming what was found, for what has no text tower we can
    use: vision-only checkpoints, generative vision-language models (a decoder that reads
    images), vision-language types we do not know how to split, and a `text_config` with no
    vision part (the text model is nested in something else: save it as its own folder).
    """
    model_type = str(config.get("model_type") or "")
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    text, vision = _sub(config, "text"), _sub(config, "vision")
    architectures = [str(a) for a in config.get("architectures") or []]
    found = model_type or "no model_type"
    if architectures:
        found += f", {architectures[0]}"
    if text is not None and vision is not None:
        if any(a.endswith(_GENERATIVE_SUFFIXES) for a in architectures):
            raise XharnessError(
                f"{where} is a generative vision-language model ({found}): its text side is a decoder that "
                "reads images, not a sentence encoder; xharness embeds text with dual encoders "
                "(CLIP-family) or text checkpoints"
            )
        raise XharnessError(
            f"{where} is a vision-language checkpoint ({found}) whose text tower xharness cannot split "
            f"out; recognised dual encoders: {', '.join(FAMILIES)}"
        )
    if vision is not None or _vision_only(config, model_type):
        raise XharnessError(f"{where} is a vision-only checkpoint ({found}): it has no text tower to embed sentences with")
    if text is not None:
        raise XharnessError(
            f"{where} nests its text model in text_config with no vision_config ({found}): it is neither a "
            "dual encoder nor a plain text checkpoint; save its text model as a folder of its own"
        )
    return None


def _vision_only(config: Mapping[str, Any], model_type: str) -> bool:
    if model_type in VISION_ONLY_TYPES or model_type.endswith("_vision_model"):
        return True
    # An image model describes pixels (image_size, patch_size or num_channels) and has no vocabulary.
    return "vocab_size" not in config and any(k in config for k in ("image_size", "patch_size", "num_channels"))


@dataclass(frozen=True)
class TextTower:
    """What a dual encoder's config says about its text side (widths, depth, lengths).

    Attributes:
        family: the Family.
        text_type: the text config's model_type ("clip_text_model", "xlm-roberta", ...).
        hidden_size: width of the tower's hidden states (what --pooling pools).
        num_layers: transformer layers of the text tower (hidden states 0..num_layers).
        projection_dim: width of the projected text features (the default embedding).
        max_positions: tokens the position table holds, None if the config does not say.
        default_max_length: the max length used when none is asked for.
        causal: the tower attends left to right (CLIP): cls pooling is refused.
    """

    family: Family
    text_type: str
    hidden_size: int | None
    num_layers: int | None
    projection_dim: int | None
    max_positions: int | None
    default_max_length: int | None
    causal: bool


def describe(config: Any) -> TextTower:
    """Read the text side of a dual-encoder config (a transformers config object or its dict).

    Give the loaded config object (or its `to_dict()`) for complete answers: a config.json often
    leaves defaults out (SigLIP's says only `"model_type": "siglip_text_model"`), and then the
    fields it does not state come back as None.
    """
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    family = classify(data)
    if family is None:
        raise XharnessError(f"not a vision-language dual encoder (model_type {data.get('model_type')!r})")
    text = _sub(data, "text") or {}
    text_type = str(text.get("model_type") or "")
    positions = positions_limit(text, _OFFSET_TEXT_TYPES.get(text_type, text_type))
    if family.projection == "projection_size":
        projection = text.get("projection_size") or text.get("hidden_size")
    else:
        projection = data.get("projection_dim")
    lengths = [n for n in (positions, family.trained_length) if n]
    return TextTower(
        family=family,
        text_type=text_type,
        hidden_size=_int(text.get("hidden_size")),
        num_layers=_int(text.get("num_hidden_layers")),
        projection_dim=_int(projection),
        max_positions=positions,
        default_max_length=min(lengths) if lengths else None,
        causal=text_type in CAUSAL_TEXT_TYPES,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def read_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XharnessError(f"{folder} has no config.json, so it is not a transformers checkpoint") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XharnessError(f"{path} is not readable JSON: {one_line(exc)}") from None
    if not isinstance(config, dict):
        raise XharnessError(f"{path} is not a JSON object")
    return config


def dual_encoder_family(folder: Path) -> Family | None:
    """The family of the checkpoint in `folder` (None for a text checkpoint); refuses vision-only and the like."""
    return classify(read_config(folder), where=str(folder))


# ---- the adapter -----------------------------------------------------------------------------

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_VISION_PREFIXES = ("vision", "visual", "image", "logit_")


class TextTowerAdapter:
    """The text tower of a vision-language dual encoder as an adapter.

    By default a text is embedded as the model's own text features, what `get_text_features`
    returns (the tower's pooled output through the text projection): the space in which the
    model was trained to align text with images. `pooling` and/or `layer` switch to pooling the
    tower's hidden states instead, so any layer can be probed.

    Args:
        folder: the checkpoint folder (config.json with text_config and vision_config, weights, tokenizer).
        pooling: None for the projected features; "mean", "max", "cls" (refused for CLIP's
            left-to-right tower), or "last" (last real token) to pool hidden states.
        layer: hidden-state index (0 = embeddings, negative from the top); giving it alone pools
            that layer with mean pooling.
        max_length: tokens per text; None is the family's (CLIP 77, SigLIP 64, Chinese-CLIP 52,
            AltCLIP 77), never beyond the position table.
        dtype, device, trust_remote_code, name: as for the transformers adapter.

    Example:
        >>> enc = TextTowerAdapter("ckpt/clip-vit-base-patch32")          # doctest: +SKIP
        >>> enc.options["features"], enc.options["max_length"], enc.dimension  # doctest: +SKIP
        ('projected', 77, 512)
    """

    kind = "text-tower"

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        pooling: str | None = None,
        layer: int | None = None,
        max_length: int | None = None,
        dtype: str | None = None,
        device: str | None = None,
        trust_remote_code: bool = False,
        name: str | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise XharnessError(f"{self.folder} is not a folder")
        found = read_config(self.folder)
        family = classify(found, where=str(self.folder))
        if family is None:
            raise XharnessError(
                f"{self.folder} is not a vision-language dual encoder (model_type {found.get('model_type')!r}); "
                "load it with the transformers adapter"
            )
        self.family = family
        self.name = name or self.folder.resolve().name
        self._dtype = normalise_dtype(dtype)
        self._trust_remote_code = bool(trust_remote_code)
        self._device = resolve_device(device)
        check_dtype_device(self._dtype, self._device)
        if self._device == "cpu":
            limit_cpu_threads()
        self.max_tokens = check_max_tokens(max_tokens)
        # Config and tokenizer first: a bad option is refused before the weights load.
        self._config = self._load_config()
        self.tower = describe(self._config)
        if self.tower.num_layers is None or self.tower.projection_dim is None:
            raise XharnessError(f"{self.folder}'s config does not give its text tower's depth and projection width")
        self.num_layers = self.tower.num_layers
        self._pooling = self._check_pooling(pooling, layer)
        self._layer = None if self._pooling is None else self.resolve_layer(-1 if layer is None else layer)
        self._tokenizer = self._load_tokenizer()
        self.max_length = self._effective_max_length(max_length)
        self._model = self._load_model()
        self._files = folder_fingerprint(self.folder)
        self._encoded = 0
        self._truncated = 0

    # ---- the Adapter protocol -------------------------------------------------------------

    @property
    def features(self) -> str:
        """"projected" (the model's text features) or "hidden" (pooled hidden states of the tower)."""
        return "projected" if self._pooling is None else "hidden"

    @property
    def dimension(self) -> int:
        return int(self.tower.projection_dim if self._pooling is None else self.tower.hidden_size)

    @property
    def layer(self) -> int | None:
        return self._layer

    @property
    def fingerprint(self) -> str:
        return digest(
            {
                "kind": self.kind,
                "files": self._files,
                "features": self.features,
                "pooling": self._pooling,
                "layer": self._layer,
                "max_length": self.max_length,
                "padding": self.family.padding,
                "dtype": self._dtype,
            }
        )

    @property
    def options(self) -> dict[str, Any]:
        return {
            "family": self.family.model_type,
            "features": self.features,
            "pooling": self._pooling,
            "layer": self._layer,
            "max_length": self.max_length,
            "padding": self.family.padding,
            "attention_mask": self.family.attention_mask,
            "dtype": self._dtype,
            "device": self._device,
            "trust_remote_code": self._trust_remote_code,
            "max_tokens": self.max_tokens,
        }

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed `texts` with the configured features; float32 (len(texts), dimension)."""
        if self._pooling is None:
            texts = self._check(texts, batch_size)
            return check_embeddings(self._run(texts, batch_size, None), len(texts), who=f"{self.name} ({self.kind})")
        return self.encode_layers(texts, batch_size=batch_size, layers=[self._layer])[self._layer]

    # ---- truncation -----------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Counts since load: texts that went through the model, and how many were cut at max_length."""
        return {"encoded": self._encoded, "truncated": self._truncated, "max_length": self.max_length}

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many of `texts` are longer than max_length tokens (tokenizer only; no forward pass)."""
        return sum(flag for _, flag in self._tokenize(check_texts(texts)))

    # ---- layers ---------------------------------------------------------------------------

    def resolve_layer(self, layer: int) -> int:
        """An absolute hidden-state index for `layer` (negative counts from the top)."""
        return absolute_layer(layer, self.num_layers, owner=f"{self.name}'s text tower")

    def with_layer(self, layer: int) -> "TextTowerAdapter":
        """The same loaded model pooling another hidden layer (mean pooling unless one was chosen)."""
        other = copy.copy(self)
        other._pooling = self._pooling or "mean"
        other._layer = self.resolve_layer(layer)
        return other

    def encode_layers(
        self, texts: Sequence[str], *, batch_size: int = 32, layers: Sequence[int] | None = None
    ) -> dict[int, np.ndarray]:
        """Pooled hidden states of the text tower at several layers from one forward pass.

        Pools with the configured pooling (mean when the adapter was built for projected features).
        Returns {layer as given: float32 (len(texts), hidden size)}; None is every layer, 0..L.
        """
        texts = self._check(texts, batch_size)
        wanted = list(range(self.num_layers + 1)) if layers is None else list(layers)
        absolute = {given: self.resolve_layer(given) for given in wanted}
        pooled = self._run(texts, batch_size, sorted(set(absolute.values())))
        who = f"{self.name} ({self.kind})"
        return {given: check_embeddings(pooled[index], len(texts), who=who) for given, index in absolute.items()}

    # ---- loading --------------------------------------------------------------------------

    def _check(self, texts: Sequence[str], batch_size: int) -> list[str]:
        texts = check_texts(texts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise XharnessError(f"batch size must be a positive integer, not {batch_size!r}")
        return texts

    def _check_pooling(self, pooling: str | None, layer: int | None) -> str | None:
        if pooling is None:
            return None if layer is None else "mean"
        pooling = str(pooling).lower()
        if pooling not in POOLINGS:
            raise XharnessError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        if pooling == "cls" and self.tower.causal:
            raise XharnessError(
                f"cls pooling does not suit {self.family.label}'s text tower: it reads left to right, so its first "
                "token sees only itself; use mean, max, last, or leave --pooling out for the projected text features"
            )
        return pooling

    def _remote(self) -> dict[str, Any]:
        # Always explicit: left out, transformers asks on the terminal whether to run the folder's code.
        return {"trust_remote_code": self._trust_remote_code}

    def _load_config(self):
        from transformers import AutoConfig

        try:
            with quiet_transformers():
                return AutoConfig.from_pretrained(str(self.folder), local_files_only=True, **self._remote())
        except Exception as exc:  # an unknown model_type in an older transformers, a malformed config
            raise config_error(self.folder, exc, trusted=self._trust_remote_code) from None

    def _load_tokenizer(self):
        from transformers import AutoTokenizer

        if not has_tokenizer_files(self.folder):
            raise XharnessError(
                f"{self.folder} has no tokenizer (expected tokenizer.json, vocab.json, vocab.txt, or a sentencepiece model)"
            )
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True, **self._remote())
        except Exception as exc:
            hint = ""
            if "sentencepiece" in str(exc).lower() or "protobuf" in str(exc).lower():
                hint = " (this tokenizer needs the sentencepiece and protobuf packages: pip install sentencepiece protobuf)"
            raise XharnessError(f"the tokenizer in {self.folder} does not load: {one_line(exc)}{hint}") from None
        if tokenizer is None or len(tokenizer) <= len(set(tokenizer.all_special_ids)):
            raise XharnessError(f"the tokenizer in {self.folder} has no vocabulary beyond its special tokens")
        return tokenizer

    def _effective_max_length(self, max_length: int | None) -> int:
        limit = self.tower.max_positions
        if max_length is not None:
            if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
                raise XharnessError(f"max length must be a positive integer, not {max_length!r}")
            if limit is not None and max_length > limit:
                raise XharnessError(f"max length {max_length} exceeds {self.name}'s {limit} text positions")
            return max_length
        choices = [DEFAULT_MAX_LENGTH_CAP] + [n for n in (self.tower.default_max_length,) if n]
        from_tokenizer = getattr(self._tokenizer, "model_max_length", None)
        if isinstance(from_tokenizer, int) and 0 < from_tokenizer < 1_000_000:  # 1e30 means "no limit"
            choices.append(from_tokenizer)
        return min(choices)

    def _load_model(self):
        import transformers

        weights = [p for p in self.folder.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES]
        if not weights:
            raise XharnessError(f"{self.folder} has no model weights (expected model.safetensors or pytorch_model.bin)")
        kwargs: dict[str, Any] = {"local_files_only": True, "output_loading_info": True, **self._remote()}
        kwargs.update(safe_weights_kwargs(weights))
        kwargs[dtype_keyword()] = torch_dtype(self._dtype)
        family = self.family
        try:
            with quiet_transformers():
                if family.text_class:
                    # The text class picks its weights out of the full checkpoint and never builds the vision tower.
                    text_config = copy.deepcopy(self._config.text_config)
                    if family.projection == "projection_dim":
                        text_config.projection_dim = self.tower.projection_dim  # the pair's width rules
                    model, info = getattr(transformers, family.text_class).from_pretrained(
                        str(self.folder), config=text_config, **kwargs
                    )
                else:
                    model, info = transformers.AutoModel.from_pretrained(str(self.folder), config=self._config, **kwargs)
        except Exception as exc:  # a corrupt, truncated or mismatched checkpoint
            raise weights_error(self.folder, exc) from None
        # A pair saved without its vision weights still serves: only text-side gaps matter.
        missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(_VISION_PREFIXES))
        if missing:
            # transformers would fill these with random values; an evaluation of noise is worse than none.
            raise XharnessError(
                f"the weights in {self.folder} do not match its config: {len(missing)} text-tower tensors are "
                f"missing (e.g. {missing[0]})"
            )
        if not family.text_class:
            if not hasattr(model, "get_text_features"):
                raise XharnessError(f"{self.folder} loads as {type(model).__name__}, which has no get_text_features")
            for child in [n for n, _ in model.named_children() if n.startswith(_VISION_PREFIXES)]:
                delattr(model, child)  # the vision tower is not needed once the text side is built
            gc.collect()
        model.eval()
        model.to(self._device)
        return model

    # ---- the forward pass -----------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> list[tuple[np.ndarray, bool]]:
        """Token ids per text (specials included, cut at max_length) and whether it was cut."""
        limit, rows = self.max_length, []
        call = {"truncation": True, "return_attention_mask": False, "return_token_type_ids": False}
        for start in range(0, len(texts), 4096):  # chunks bound the Python lists tokenizers build
            chunk = texts[start : start + 4096]
            # One token of slack tells a text that fits from one that was cut.
            ids = self._tokenizer(chunk, max_length=limit + 1, **call)["input_ids"]
            cut = [i for i, row in enumerate(ids) if len(row) > limit]
            if cut:
                again = self._tokenizer([chunk[i] for i in cut], max_length=limit, **call)["input_ids"]
                for i, row in zip(cut, again):
                    ids[i] = row
            flags = set(cut)
            rows.extend((np.asarray(row, dtype=np.int64), i in flags) for i, row in enumerate(ids))
        empty = next((i for i, (row, _) in enumerate(rows) if row.size == 0), None)
        if empty is not None:
            raise XharnessError(f"text #{empty} is empty after tokenization by {self.name}; remove empty lines")
        return rows

    def _run(self, texts: list[str], batch_size: int, layers: list[int] | None) -> Any:
        """Projected features (layers None) or {layer: pooled hidden states}, in the order of `texts`."""
        import torch

        width = self.dimension if layers is None else self.tower.hidden_size
        out = {key: np.empty((len(texts), width), dtype=np.float32) for key in (layers or [None])}
        if not texts:
            return out[None] if layers is None else out
        rows = self._tokenize(texts)
        self._encoded += len(rows)
        self._truncated += sum(flag for _, flag in rows)
        lengths = np.array([ids.size for ids, _ in rows])
        fixed = self.family.padding == "max_length"
        # Longest first: little padding, early out-of-memory; fixed padding makes every row max_length wide.
        widths = np.full_like(lengths, self.max_length) if fixed else lengths
        batches = length_sorted_batches(widths, batch_size=batch_size, max_tokens=self.max_tokens)
        left = fixed and getattr(self._tokenizer, "padding_side", "right") == "left"
        pad_id = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        project = getattr(self._model, "get_text_features", self._model)
        tower = self._model
        for part in filter(None, self.family.tower.split(".")):
            tower = getattr(tower, part)
        with torch.inference_mode():
            for batch in batches:
                span = self.max_length if fixed else int(lengths[batch].max())
                input_ids = torch.full((len(batch), span), pad_id, dtype=torch.long)
                real = torch.zeros((len(batch), span), dtype=torch.long)
                for j, i in enumerate(batch):
                    n = int(lengths[i])
                    cols = slice(span - n, span) if left else slice(0, n)
                    input_ids[j, cols] = torch.from_numpy(rows[i][0])
                    real[j, cols] = 1
                inputs = {"input_ids": input_ids.to(self._device)}
                if self.family.attention_mask:
                    inputs["attention_mask"] = real.to(self._device)
                if layers is None:
                    out[None][batch] = _text_features(project(**inputs)).float().cpu().numpy()
                    continue
                hidden_needed = layers != [self.num_layers]
                result = tower(**inputs, output_hidden_states=hidden_needed, return_dict=True)
                states = result.hidden_states if hidden_needed else None
                if hidden_needed and len(states) != self.num_layers + 1:
                    raise XharnessError(
                        f"{self.name}'s text tower returned {len(states)} hidden states, not {self.num_layers + 1}"
                    )
                mask = real.to(self._device)
                for layer in layers:
                    # The top layer is the tower's own output (CLIP and SigLIP apply a final layer norm).
                    hidden = result.last_hidden_state if layer == self.num_layers else states[layer]
                    out[layer][batch] = pool_tokens(hidden, mask, self._pooling or "mean").cpu().numpy()
        return out[None] if layers is None else out


def _text_features(output):
    """The projected text features from whatever the call returned (tensor, or a model output)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    embeds = getattr(output, "text_embeds", None)
    return embeds if embeds is not None else output.pooler_output


def pool_tokens(hidden, mask, pooling: str):
    """Like `transformers_adapter.pool`, but cls/last find the first/last real token on either padding side."""
    import torch

    if pooling not in ("cls", "last"):
        return pool(hidden, mask, pooling)
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    if pooling == "cls":
        index = torch.where(mask.bool(), positions, mask.shape[1]).min(dim=1).values
    else:
        index = torch.where(mask.bool(), positions, -1).max(dim=1).values
    return hidden.float()[torch.arange(hidden.shape[0], device=hidden.device), index]
