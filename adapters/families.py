"""Vision-language dual encoders (CLIP, SigLIP, ...) recognised from config.json, without importing torch.

`AutoModel` on a CLIP folder builds both towers, and its forward pass wants pixels. The family
table says, per `model_type`, how to build the text tower alone (or build the pair and drop
the vision side), what its "text features" are, and how it was fed text (SigLIP: padded to a
fixed 64 tokens, no attention mask; CLIP: 77 positions, padded to the batch). `classify` also
refuses, in one line, checkpoints with no text tower to use (vision-only, generative
vision-language models). `text_towers.TextTowerAdapter` does the encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from xharness.adapters.hf_loading import positions_limit, read_config
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


def dual_encoder_family(folder: Path) -> Family | None:
    """The family of the checkpoint in `folder` (None for a text checkpoint); refuses vision-only and the like."""
    return classify(read_config(folder), where=str(folder))
