"""The text tower of a vision-language dual encoder (CLIP, SigLIP, ...) as an adapter.

`families` recognises the checkpoint and says how each family is split and fed; `HFEncoder`
tokenises, batches, runs layers and pools. What is particular here: the module built (the text
class alone, or the pair with its vision side dropped), fixed padding without an attention
mask where the family was trained so (SigLIP), and the default embedding, the model's projected
text features.
"""

from __future__ import annotations

import copy
import gc
from typing import Any

from xharness.adapters.families import classify, describe
from xharness.adapters.hf import HFEncoder
from xharness.adapters.hf_loading import load_weights, read_config
from xharness.errors import XharnessError

_VISION_PREFIXES = ("vision", "visual", "image", "logit_")


class TextTowerAdapter(HFEncoder):
    """The text tower of a vision-language dual encoder (see `HFEncoder` for the options).

    By default a text is embedded as the model's own text features, what `get_text_features`
    returns (the tower's pooled output through the text projection): the space in which the
    model was trained to align text with images. `pooling` and/or `layer` switch to pooling the
    tower's hidden states instead (mean when only a layer is given), so any layer can be probed;
    cls is refused for CLIP's left-to-right tower. max_length defaults to the family's (CLIP 77,
    SigLIP 64, Chinese-CLIP 52, AltCLIP 77), never beyond the position table.

    Example:
        >>> enc = TextTowerAdapter("ckpt/clip-vit-base-patch32")               # doctest: +SKIP
        >>> enc.options["features"], enc.options["max_length"], enc.dimension  # doctest: +SKIP
        ('projected', 77, 512)
    """

    kind = "text-tower"
    _positions_word = "text positions"
    # A pair saved without its vision weights still serves: only text-side gaps matter.
    _ignorable_missing = _VISION_PREFIXES
    _missing_word = "text-tower "

    def _read_folder(self) -> None:
        found = read_config(self.folder)
        family = classify(found, where=str(self.folder))
        if family is None:
            raise XharnessError(
                f"{self.folder} is not a vision-language dual encoder (model_type {found.get('model_type')!r}); "
                "load it with the transformers adapter"
            )
        self.family = family

    def _read_config(self) -> None:
        self.tower = describe(self._config)
        if self.tower.num_layers is None or self.tower.projection_dim is None:
            raise XharnessError(f"{self.folder}'s config does not give its text tower's depth and projection width")
        self.num_layers = self.tower.num_layers
        self.hidden_size = self.tower.hidden_size

    @property
    def features(self) -> str:
        """"projected" (the model's text features) or "hidden" (pooled hidden states of the tower)."""
        return "projected" if self._pooling is None else "hidden"

    @property
    def _owner(self) -> str:
        return f"{self.name}'s text tower"

    @property
    def _fixed_padding(self) -> bool:
        return self.family.padding == "max_length"

    def _default_pooling(self, layer: int | None) -> str | None:
        return None if layer is None else "mean"

    def _cls_refusal(self) -> str | None:
        if not self.tower.causal:
            return None
        return (
            f"cls pooling does not suit {self.family.label}'s text tower: it reads left to right, so its first "
            "token sees only itself; use mean, max, last, or leave --pooling out for the projected text features"
        )

    def _limits(self) -> tuple[int | None, int | None]:
        return self.tower.max_positions, self.tower.default_max_length

    def _default_dimension(self) -> int:
        return self.tower.projection_dim

    def _described(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {"family": self.family.model_type, "features": self.features},
            {"padding": self.family.padding, "attention_mask": self.family.attention_mask},
        )

    def _identity(self) -> dict[str, Any]:
        return {"features": self.features, "padding": self.family.padding}

    def _from_pretrained(self, kwargs: dict[str, Any]):
        import transformers

        family = self.family
        if not family.text_class:
            return transformers.AutoModel.from_pretrained(str(self.folder), config=self._config, **kwargs)
        # The text class picks its weights out of the full checkpoint and never builds the vision tower.
        text_config = copy.deepcopy(self._config.text_config)
        if family.projection == "projection_dim":
            text_config.projection_dim = self.tower.projection_dim  # the pair's width rules
        return getattr(transformers, family.text_class).from_pretrained(str(self.folder), config=text_config, **kwargs)

    @property
    def tokenizer(self):
        return self._tokenizer

    def text_model(self):
        """The text tower alone, freshly loaded in fp32 for training (`--finetune`).

        The family's text class picks the text weights out of the pair's files; the vision tower is
        never built and its weights are never read. Families without such a class are refused.
        """
        if not self.family.text_class:
            raise XharnessError(f"{self.family.label}'s text tower cannot be loaded without its vision tower")
        return load_weights(
            self.folder, self._from_pretrained, dtype="fp32", trusted=self._trust_remote_code,
            ignorable=self._ignorable_missing, missing_word=self._missing_word,
        )

    def _prepared(self, model):
        if self.family.text_class:
            return model
        if not hasattr(model, "get_text_features"):
            raise XharnessError(f"{self.folder} loads as {type(model).__name__}, which has no get_text_features")
        for child in [n for n, _ in model.named_children() if n.startswith(_VISION_PREFIXES)]:
            delattr(model, child)  # the vision tower is not needed once the text side is built
        gc.collect()
        return model

    def _tower(self):
        tower = self._model
        for part in filter(None, self.family.tower.split(".")):
            tower = getattr(tower, part)
        return tower

    def _extra_inputs(self, tower) -> frozenset[str]:
        return frozenset({"attention_mask"}) if self.family.attention_mask else frozenset()

    def _default_features(self, inputs: dict[str, Any]):
        import torch

        output = getattr(self._model, "get_text_features", self._model)(**inputs)
        if isinstance(output, torch.Tensor):
            return output
        embeds = getattr(output, "text_embeds", None)
        return embeds if embeds is not None else output.pooler_output
