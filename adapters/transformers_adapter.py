"""Any Hugging Face text checkpoint folder as an adapter: AutoTokenizer + AutoModel, one hidden layer pooled.

Encoders (BERT, XLM-R, ...) are the main case. Decoder-only checkpoints (GPT-2, Llama, Qwen2, ...)
are accepted: mean pooling over all tokens is the default, `last` pools the final real token,
and `cls` is refused (a causal model's first token has seen only itself). Encoder-decoder
checkpoints (T5, mT5, BART) are encoded by their encoder alone. fp16 is refused on CPU rather
than silently run in fp32: a result must say what produced it. Tokenising, batching, the
forward pass and pooling are `hf.HFEncoder`'s; the loading policy is `hf_loading`'s.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xharness.adapters.families import classify, describe
from xharness.adapters.hf import HFEncoder
from xharness.adapters.hf_loading import positions_limit, read_config
from xharness.errors import XharnessError

# model_type values of decoder-only families whose config may not say `is_decoder`.
_DECODER_TYPES = frozenset(
    "gpt2 gpt_neo gpt_neox gptj gpt_bigcode codegen bloom opt llama mistral mixtral qwen2 qwen2_moe "
    "qwen3 qwen3_moe gemma gemma2 gemma3_text phi phi3 falcon mpt olmo olmo2 stablelm starcoder2 "
    "cohere xglm persimmon recurrent_gemma".split()
)


@dataclass(frozen=True)
class CheckpointInfo:
    """What a config.json says about a checkpoint, read without importing torch.

    Attributes:
        model_type: the config's `model_type` ("bert", "xlm-roberta", ...), "" if absent.
        architecture: "encoder", "decoder", "encoder-decoder", or "dual-encoder" (a vision-language
            pair such as CLIP, whose text tower `text_towers.TextTowerAdapter` encodes).
        max_positions: how many tokens the position embeddings hold, None if unbounded/unknown.
    """

    model_type: str
    architecture: str
    max_positions: int | None


def inspect_config(folder: Path) -> CheckpointInfo:
    """Read `folder/config.json` and classify the checkpoint; refuse what has no text encoder to use."""
    folder = Path(folder)
    config = read_config(folder)
    model_type = str(config.get("model_type") or "")
    # Dual encoders (CLIP, SigLIP, ...) are recognised; vision-only and the like are refused here.
    if classify(config, where=str(folder)) is not None:
        return CheckpointInfo(model_type, "dual-encoder", describe(config).max_positions)
    architectures = [str(a) for a in config.get("architectures") or []]
    if config.get("is_encoder_decoder"):
        architecture = "encoder-decoder"
    elif (
        config.get("is_decoder")
        or model_type in _DECODER_TYPES
        or any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
    ):
        architecture = "decoder"
    else:
        architecture = "encoder"
    return CheckpointInfo(model_type, architecture, positions_limit(config, model_type))


class TransformersAdapter(HFEncoder):
    """Pooled hidden states of a Hugging Face text checkpoint (see `HFEncoder` for the options).

    pooling defaults to mean; layer to the last (-1); max_length to the tokenizer's limit (else
    the position embeddings'), capped at 512.

    Example:
        >>> enc = TransformersAdapter("ckpt/xlmr-mnli", options=AdapterOptions(layer=14))   # doctest: +SKIP
        >>> enc.encode(["Hallo Welt", "Hello world"]).shape                                # doctest: +SKIP
        (2, 1024)
    """

    kind = "transformers"
    # A fresh pooler is harmless: its output is never read, only the hidden states are.
    _ignorable_missing = ("pooler.",)

    def _read_folder(self) -> None:
        self.info = inspect_config(self.folder)
        if self.info.architecture == "dual-encoder":
            raise XharnessError(
                f"{self.folder} is a vision-language dual encoder ({self.info.model_type}); its text tower loads "
                "through load_adapter (the text-tower adapter), not TransformersAdapter"
            )

    def _read_config(self) -> None:
        n = getattr(self._config, "num_hidden_layers", None)
        if not isinstance(n, int) or n < 1:
            raise XharnessError(f"{self.folder}'s config does not say how many layers it has (num_hidden_layers)")
        self.num_layers = n
        self.hidden_size = int(self._config.hidden_size)

    def _cls_refusal(self) -> str | None:
        if self.info.architecture != "decoder":
            return None
        return (
            f"cls pooling does not suit the decoder-only {self.info.model_type or 'model'} "
            f"{self.name} (its first token sees only itself); use mean or last"
        )

    def _limits(self) -> tuple[int | None, int | None]:
        return self.info.max_positions, self.info.max_positions

    def _from_pretrained(self, kwargs: dict[str, Any]):
        from transformers import AutoModel

        # Shape mismatches are loaded as gaps and reported by HFEncoder, with the tensor and both shapes.
        return AutoModel.from_pretrained(str(self.folder), config=self._config, ignore_mismatched_sizes=True, **kwargs)

    def _tower(self):
        return self._model.get_encoder() if self.info.architecture == "encoder-decoder" else self._model

    def _extra_inputs(self, tower) -> frozenset[str]:
        extra = {"attention_mask"}
        # Segment ids only where the tokenizer makes them and the model takes them (BERT, not T5).
        if "token_type_ids" in getattr(self._tokenizer, "model_input_names", ()) and (
            "token_type_ids" in inspect.signature(tower.forward).parameters
        ):
            extra.add("token_type_ids")
        if self.info.architecture == "decoder":
            extra.add("use_cache")
        return frozenset(extra)
