"""What `--finetune` trains: the checkpoint's own sequence classifier, or a dual encoder's text tower with a head.

A text checkpoint (BERT, XLM-R, a sentence-transformers folder's Transformer module) becomes
`AutoModelForSequenceClassification`: its encoder plus a new head. Tensors the head model wants
and the checkpoint lacks are refused unless they are the head's or the pooler's (an encoder-only
mT5/T5 folder would otherwise train with a random decoder). The text tower of a CLIP-family
checkpoint is loaded alone through the family table the text-tower adapter uses (its text class
picks the text weights out of the pair; the vision weights are never read) and gets a linear
head on its text features, the model's own projected text embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from xharness.errors import XharnessError


@dataclass
class Classifier:
    """A model ready for the Trainer, its tokenizer, and how items are fed to it.

    Attributes:
        model: the module the Trainer trains (its forward takes input_ids, attention_mask, labels).
        tokenizer: the checkpoint's tokenizer.
        max_length: tokens per item (the asked length, capped at a text tower's positions).
        fixed_padding: every item padded to max_length (SigLIP, as it was trained).
        kind: "sequence-classification" or "text-tower".
        family: the dual encoder's model_type ("" for a text checkpoint).
    """

    model: Any
    tokenizer: Any
    max_length: int
    fixed_padding: bool = False
    kind: str = "sequence-classification"
    family: str = ""

    def save(self, trainer, folder: Path) -> None:
        """Keep the chosen model as safetensors + tokenizer, loadable by `xharness eval`."""
        if self.kind == "sequence-classification":
            trainer.save_model(str(folder))
            if trainer.is_world_process_zero():
                self.tokenizer.save_pretrained(str(folder))
            return
        if not trainer.is_world_process_zero():
            return
        from safetensors.torch import save_file

        # The tower as its text class saves it (eval loads it as a text checkpoint); the head beside it.
        self.model.tower.save_pretrained(str(folder), safe_serialization=True)
        self.tokenizer.save_pretrained(str(folder))
        head = {name: tensor.detach().contiguous().cpu() for name, tensor in self.model.classifier.state_dict().items()}
        save_file(head, str(Path(folder) / "classification_head.safetensors"))


def is_text_tower(folder: Path) -> bool:
    """Whether the checkpoint in `folder` is a vision-language dual encoder (refusing what has no text tower)."""
    from xharness.adapters.families import dual_encoder_family

    return dual_encoder_family(folder) is not None


def check_tunable(folder: Path) -> None:
    """Refuse, in one line and before any training, a dual encoder whose text tower cannot be loaded alone."""
    from xharness.adapters.families import dual_encoder_family

    family = dual_encoder_family(folder)
    if family is not None and not family.text_class:
        from xharness.adapters.families import FAMILIES

        alone = ", ".join(f.label for f in FAMILIES.values() if f.text_class)
        raise XharnessError(
            f"--finetune cannot load {family.label}'s text tower without its vision weights; "
            f"text towers that fine-tune: {alone}"
        )


def build_classifier(folder: Path, labels: Sequence[str], *, max_length: int) -> Classifier:
    """The model to fine-tune from `folder`, with a new head for `labels` (seed torch before calling)."""
    if is_text_tower(folder):
        check_tunable(folder)
        return _text_tower(folder, labels, max_length=max_length)
    return _sequence_classifier(folder, labels, max_length=max_length)


def _sequence_classifier(folder: Path, labels: Sequence[str], *, max_length: int) -> Classifier:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from xharness.adapters.hf_loading import positions_limit, quiet_transformers

    label_ids = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    with quiet_transformers():
        model, info = AutoModelForSequenceClassification.from_pretrained(
            str(folder), num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_ids,
            output_loading_info=True,
        )
    prefix = f"{model.base_model_prefix}."
    # The head (outside the base model) and a pooler are new by design; anything else would start random.
    fresh = sorted(k for k in info.get("missing_keys", ()) if k.startswith(prefix) and ".pooler." not in k)
    if fresh:
        raise XharnessError(
            f"--finetune: {folder} does not fit {type(model).__name__}: {len(fresh)} of its tensors are not in the "
            f"checkpoint and would start random (e.g. {fresh[0]}); an encoder-only checkpoint of an "
            "encoder-decoder family (e.g. mT5's encoder) has no sequence-classification head that fits"
        )
    # Longer items than the position table holds would fail inside the model: cut them there, as the towers are.
    positions = positions_limit(model.config.to_dict(), model.config.model_type)
    return Classifier(model, tokenizer, max_length if positions is None else min(max_length, positions))


def _text_tower(folder: Path, labels: Sequence[str], *, max_length: int) -> Classifier:
    from xharness.adapters.options import AdapterOptions
    from xharness.adapters.text_towers import TextTowerAdapter

    # Config, family, tokenizer and length limits as the adapter reads them; no weights yet.
    described = TextTowerAdapter(folder, options=AdapterOptions(device="cpu"), weights=False)
    tower = described.text_model()
    width = int(described.tower.projection_dim)
    model = _tower_classifier_class()(
        tower, width, len(labels), attention_mask=described.family.attention_mask, causal=described.tower.causal,
    )
    return Classifier(
        model, described.tokenizer, min(max_length, described.max_length), fixed_padding=described.family.padding == "max_length",
        kind="text-tower", family=described.family.model_type,
    )


def _tower_classifier_class():
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class TextTowerClassifier(torch.nn.Module):
        """A dual encoder's text tower and a linear head on its text features (the projected text embedding).

        A left-to-right tower (CLIP) pools at its end-of-text token, the first one in the ids, which
        for a pair ends the first text and has not seen the second; here it pools at the last real
        token instead: for one text that is the same token (the same features as the model's own),
        for a pair the end of both. Items are padded on the right.
        """

        def __init__(self, tower, width: int, num_labels: int, *, attention_mask: bool, causal: bool) -> None:
            super().__init__()
            self.tower = tower
            self.classifier = torch.nn.Linear(width, num_labels)
            self.uses_mask = attention_mask
            self.causal = causal and hasattr(tower, "text_projection")

        def features(self, input_ids, attention_mask=None):
            inputs = {"input_ids": input_ids}
            if self.uses_mask and attention_mask is not None:
                inputs["attention_mask"] = attention_mask
            output = self.tower(**inputs)
            if self.causal:
                if attention_mask is None:
                    last = torch.full_like(input_ids[:, 0], input_ids.shape[1] - 1)
                else:
                    last = attention_mask.sum(dim=-1) - 1
                pooled = output.last_hidden_state[torch.arange(input_ids.shape[0], device=input_ids.device), last]
                return self.tower.text_projection(pooled)
            features = getattr(output, "text_embeds", None)
            return output.pooler_output if features is None else features

        def forward(self, input_ids, attention_mask=None, labels=None, **_ignored):  # token_type_ids: not a tower input
            logits = self.classifier(self.features(input_ids, attention_mask))
            loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
            return SequenceClassifierOutput(loss=loss, logits=logits)

    return TextTowerClassifier
