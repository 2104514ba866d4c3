"""Any Hugging Face checkpoint folder as an adapter: AutoTokenizer + AutoModel, one hidden layer pooled.

Encoders (BERT, XLM-R, ...) are the main case. Decoder-only checkpoints (GPT-2, Llama, Qwen2, ...)
are accepted: mean pooling over all tokens is the default, `last` pools the final real token,
and `cls` is refused (a causal model's first token has seen only itself). Encoder-decoder
checkpoints (T5, mT5, BART) are encoded by their encoder alone. fp16 is refused on CPU rather
than silently run in fp32: a result must say what produced it.

Nothing from the folder runs as code unless asked: the checkpoint's own Python only with
`trust_remote_code`, and weights load from safetensors when present, else from a pickle
(`pytorch_model.bin`) through torch's `weights_only=True` unpickler; a pickle that needs more
than tensors is refused with a pointer to safetensors (`safe_weights_kwargs`, `weights_error`).

torch and transformers are imported inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from xharness.adapters.base import check_embeddings, digest, folder_fingerprint
from xharness.adapters.batching import length_sorted_batches
from xharness.errors import XharnessError

POOLINGS = ("mean", "cls", "max", "last")
DTYPES = ("fp32", "fp16", "bf16")
# The hard ceiling of a default max length; XTREME and sentence-transformers never go above it.
DEFAULT_MAX_LENGTH_CAP = 512

_DTYPE_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16"}
_TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}

# model_type values of decoder-only families whose config may not say `is_decoder`.
_DECODER_TYPES = frozenset(
    "gpt2 gpt_neo gpt_neox gptj gpt_bigcode codegen bloom opt llama mistral mixtral qwen2 qwen2_moe "
    "qwen3 qwen3_moe gemma gemma2 gemma3_text phi phi3 falcon mpt olmo olmo2 stablelm starcoder2 "
    "cohere xglm persimmon recurrent_gemma".split()
)
# These families number positions from pad_token_id + 1, so 514 embeddings hold 512 tokens.
_OFFSET_POSITION_TYPES = frozenset(
    "roberta xlm-roberta xlm-roberta-xl camembert longformer mpnet bertweet data2vec-text xmod "
    "roberta-prelayernorm esm".split()
)
_TOKENIZER_FILES = frozenset(
    "tokenizer.json vocab.txt vocab.json sentencepiece.bpe.model spiece.model tokenizer.model "
    "sentencepiece.model spm.model source.spm vocab.model bpe.codes".split()
)
_TOKENIZER_SUFFIXES = (".model", ".spm", ".tiktoken")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
# A fresh pooler is harmless: its output is never read, only the hidden states are.
_IGNORABLE_MISSING_PREFIXES = ("pooler.",)


@dataclass(frozen=True)
class CheckpointInfo:
    """What a config.json says about a checkpoint, read without importing torch.

    Attributes:
        model_type: the config's `model_type` ("bert", "xlm-roberta", ...), "" if absent.
        architecture: "encoder", "decoder", "encoder-decoder", or "dual-encoder" (a vision-language
            pair such as CLIP, whose text tower `multimodal.TextTowerAdapter` encodes).
        max_positions: how many tokens the position embeddings hold, None if unbounded/unknown.
    """

    model_type: str
    architecture: str
    max_positions: int | None


def inspect_config(folder: Path) -> CheckpointInfo:
    """Read `folder/config.json` and classify the checkpoint; refuse what has no text encoder to use."""
    folder = Path(folder)
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise XharnessError(f"{folder} has no config.json, so it is not a transformers checkpoint") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XharnessError(f"{path} is not readable JSON: {one_line(exc)}") from None
    if not isinstance(config, dict):
        raise XharnessError(f"{path} is not a JSON object")
    model_type = str(config.get("model_type") or "")
    from xharness.adapters.multimodal import classify, describe

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


def positions_limit(config: Mapping[str, Any], model_type: str) -> int | None:
    n = config.get("max_position_embeddings") or config.get("n_positions")
    if not isinstance(n, int) or n <= 0:
        return None
    if model_type in _OFFSET_POSITION_TYPES:
        pad = config.get("pad_token_id")
        n -= (pad if isinstance(pad, int) else 1) + 1
    return n


def normalise_dtype(dtype: str | None) -> str:
    """'fp32' | 'fp16' | 'bf16' from a user's spelling; None means fp32."""
    if dtype is None:
        return "fp32"
    key = str(dtype).lower()
    key = _DTYPE_ALIASES.get(key, key)
    if key not in DTYPES:
        raise XharnessError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    return key


def resolve_device(device: str | None) -> str:
    """'cpu', 'cuda', 'cuda:N' or 'mps'; None or 'auto' picks CUDA when there is one."""
    import torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device).lower()
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise XharnessError(f"device {device!r} was asked for, but torch sees no CUDA GPU here")
        return device
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise XharnessError("device 'mps' was asked for, but torch sees no Apple GPU here")
        return device
    raise XharnessError(f"unknown device {device!r}; choose cpu, cuda, cuda:N or auto")


def check_dtype_device(dtype: str, device: str) -> None:
    # fp16 matmuls on CPU are slow and lose precision; falling back to fp32 silently would
    # record a dtype that did not produce the numbers, so refuse instead.
    if dtype == "fp16" and device == "cpu":
        raise XharnessError("dtype fp16 needs a GPU; on CPU use bf16 or fp32")


def torch_dtype(dtype: str):
    import torch

    return getattr(torch, _TORCH_DTYPES[dtype])


def dtype_keyword() -> str:
    """The `from_pretrained` keyword for a dtype: transformers renamed torch_dtype to dtype in 4.56."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def limit_cpu_threads() -> None:
    """Keep torch from using more threads than this process may run on (containers, taskset)."""
    import torch

    if "OMP_NUM_THREADS" in os.environ:  # the user decided
        return
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() > available:
        torch.set_num_threads(max(1, available))


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars; we check what matters ourselves."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def has_tokenizer_files(folder: Path) -> bool:
    return any(
        p.is_file() and (p.name in _TOKENIZER_FILES or p.suffix in _TOKENIZER_SUFFIXES)
        for p in Path(folder).iterdir()
    )


def safe_weights_kwargs(weights: Sequence[Path]) -> dict[str, Any]:
    """`from_pretrained` options that keep loading weights from running code.

    safetensors when the folder has them. Otherwise the weights are a pickle (`.bin`, `.pt`):
    unpickled with torch's `weights_only=True` (tensors and plain containers only, never code),
    which transformers has done by default for years and is asked for here explicitly wherever
    `from_pretrained` takes the option. A pickle that needs more is refused (see `weights_error`).
    """
    if any(Path(p).suffix == ".safetensors" for p in weights):
        return {"use_safetensors": True}
    from transformers import PreTrainedModel

    if "weights_only" in inspect.signature(PreTrainedModel.from_pretrained).parameters:
        return {"weights_only": True}
    return {}


def refused_pickle(exc: BaseException | None) -> bool:
    """Whether torch's weights_only unpickler refused the file (anywhere in the exception's chain)."""
    import pickle

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, pickle.UnpicklingError) or str(exc).startswith("Weights only load failed"):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def weights_error(folder: Path, exc: BaseException) -> XharnessError:
    """One line for weights that do not load; a pickle that would run code is named as such."""
    if refused_pickle(exc):
        return XharnessError(
            f"the weights in {folder} are a pickle that holds more than tensors, so they were not loaded "
            "(xharness unpickles weights only with torch's weights_only=True, which runs no code); "
            "convert the checkpoint to safetensors (model.safetensors) and try again"
        )
    return XharnessError(f"the weights in {folder} do not load: {one_line(exc)}")


def config_error(folder: Path, exc: BaseException, *, trusted: bool) -> XharnessError:
    """One line for a config that does not load; code the checkpoint brings is named with the flag that allows it."""
    if not trusted:
        try:
            config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            config = None
        if isinstance(config, dict) and config.get("auto_map"):
            return XharnessError(
                f"{folder} needs its own Python code to load (auto_map in config.json, model_type "
                f"{config.get('model_type')!r}); xharness runs a checkpoint's code only with --trust-remote-code"
            )
    return XharnessError(f"the config in {folder} does not load: {one_line(exc)}")


def one_line(exc: BaseException, limit: int = 240) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TransformersAdapter:
    """Pooled hidden states of a Hugging Face checkpoint.

    Args:
        folder: a local checkpoint folder (config.json, weights, tokenizer files).
        pooling: "mean" (masked, over all tokens including special ones, as XTREME and
            sentence-transformers do), "cls" (first token), "max" (masked), or "last" (last
            real token; for decoder-only models).
        layer: index into the hidden states: 0 is the embedding layer, 1..L the transformer
            layers, negative counts from the top; None is the last (-1).
        max_length: tokens kept per text; None is the tokenizer's limit (else the position
            embeddings'), capped at 512.
        dtype: "fp32" (default), "bf16", or "fp16" (GPU only).
        device: "cpu", "cuda", "cuda:N"; None or "auto" is CUDA when available.
        trust_remote_code: run the checkpoint's own modelling code (only when asked).
        name: the human name; defaults to the folder's name.

    Example:
        >>> enc = TransformersAdapter("ckpt/xlmr-mnli", layer=14)   # doctest: +SKIP
        >>> enc.encode(["Hallo Welt", "Hello world"]).shape          # doctest: +SKIP
        (2, 1024)
    """

    kind = "transformers"

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
        self.max_tokens = check_max_tokens(max_tokens)
        if not self.folder.is_dir():
            raise XharnessError(f"{self.folder} is not a folder")
        self.info = inspect_config(self.folder)
        if self.info.architecture == "dual-encoder":
            raise XharnessError(
                f"{self.folder} is a vision-language dual encoder ({self.info.model_type}); its text tower loads "
                "through load_adapter (the text-tower adapter), not TransformersAdapter"
            )
        self.name = name or self.folder.resolve().name
        self._pooling = self._check_pooling(pooling)
        self._dtype = normalise_dtype(dtype)
        self._trust_remote_code = bool(trust_remote_code)
        self._device = resolve_device(device)
        check_dtype_device(self._dtype, self._device)
        if self._device == "cpu":
            limit_cpu_threads()
        # Config and tokenizer first: a bad layer or length is refused before gigabytes load.
        self._config = self._load_config()
        self.num_layers = self._count_layers()
        self.dimension = int(self._config.hidden_size)
        self._layer = self.resolve_layer(-1 if layer is None else layer)
        self._tokenizer = self._load_tokenizer()
        self.max_length = self._effective_max_length(max_length)
        self._model = self._load_model()
        self._files = folder_fingerprint(self.folder)

    # ---- the Adapter protocol -------------------------------------------------------------

    @property
    def layer(self) -> int:
        """The configured layer as an absolute index into the hidden states (0..num_layers)."""
        return self._layer

    @property
    def fingerprint(self) -> str:
        return digest(
            {
                "kind": self.kind,
                "files": self._files,
                "pooling": self._pooling,
                # Absolute, so layer=-1 and layer=L give one fingerprint: they are one layer.
                "layer": self._layer,
                "max_length": self.max_length,
                "dtype": self._dtype,
            }
        )

    @property
    def options(self) -> dict[str, Any]:
        return {
            "pooling": self._pooling,
            "layer": self._layer,
            "max_length": self.max_length,
            "dtype": self._dtype,
            "device": self._device,
            "trust_remote_code": self._trust_remote_code,
            "max_tokens": self.max_tokens,
        }

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed `texts` with the configured layer; float32 (len(texts), dimension)."""
        return self.encode_layers(texts, batch_size=batch_size, layers=[self._layer])[self._layer]

    # ---- layers ---------------------------------------------------------------------------

    def resolve_layer(self, layer: int) -> int:
        """An absolute hidden-state index for `layer` (negative counts from the top)."""
        return absolute_layer(
            layer, self.num_layers, owner=self.name,
            hint="; to get several layers from one pass use encode_layers(texts, layers=[...])",
        )

    def with_layer(self, layer: int) -> "TransformersAdapter":
        """The same loaded model pooled at another layer (its own fingerprint and options)."""
        other = copy.copy(self)
        other._layer = self.resolve_layer(layer)
        return other

    def encode_layers(
        self, texts: Sequence[str], *, batch_size: int = 32, layers: Sequence[int] | None = None
    ) -> dict[int, np.ndarray]:
        """Embed `texts` at several layers from one forward pass.

        Args:
            texts: the sentences.
            batch_size: sentences per forward pass.
            layers: hidden-state indices (negative from the top); None is every layer, 0..L.

        Returns:
            {layer as given: float32 (len(texts), dimension)}.
        """
        texts = check_texts(texts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise XharnessError(f"batch size must be a positive integer, not {batch_size!r}")
        wanted = list(range(self.num_layers + 1)) if layers is None else list(layers)
        absolute = {given: self.resolve_layer(given) for given in wanted}
        pooled = self._run(texts, batch_size, sorted(set(absolute.values())))
        who = f"{self.name} ({self.kind})"
        return {given: check_embeddings(pooled[index], len(texts), who=who) for given, index in absolute.items()}

    # ---- loading --------------------------------------------------------------------------

    def _check_pooling(self, pooling: str | None) -> str:
        pooling = "mean" if pooling is None else str(pooling).lower()
        if pooling not in POOLINGS:
            raise XharnessError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        if pooling == "cls" and self.info.architecture == "decoder":
            raise XharnessError(
                f"cls pooling does not suit the decoder-only {self.info.model_type or 'model'} "
                f"{self.name} (its first token sees only itself); use mean or last"
            )
        return pooling

    def _load_config(self):
        from transformers import AutoConfig

        try:
            with quiet_transformers():
                return AutoConfig.from_pretrained(str(self.folder), local_files_only=True, **self._remote_code_kwargs())
        except Exception as exc:  # an unknown model_type, or code we were not allowed to run
            raise config_error(self.folder, exc, trusted=self._trust_remote_code) from None

    def _load_tokenizer(self):
        from transformers import AutoTokenizer

        if not has_tokenizer_files(self.folder):
            raise XharnessError(
                f"{self.folder} has no tokenizer (expected tokenizer.json, vocab.txt, or a sentencepiece model)"
            )
        try:
            with quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(
                    str(self.folder), local_files_only=True, **self._remote_code_kwargs()
                )
        except Exception as exc:  # any failure here means the user's tokenizer does not load
            raise XharnessError(f"the tokenizer in {self.folder} does not load: {one_line(exc)}") from None
        if tokenizer is None or len(tokenizer) <= len(set(tokenizer.all_special_ids)):
            raise XharnessError(f"the tokenizer in {self.folder} has no vocabulary beyond its special tokens")
        return tokenizer

    def _load_model(self):
        from transformers import AutoModel

        weights = [p for p in self.folder.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES]
        if not weights:
            raise XharnessError(f"{self.folder} has no model weights (expected model.safetensors or pytorch_model.bin)")
        # Shape mismatches are loaded as gaps and reported by us below, with the tensor and both shapes.
        kwargs: dict[str, Any] = {
            "config": self._config, "local_files_only": True, "output_loading_info": True, "ignore_mismatched_sizes": True,
        }
        kwargs.update(self._remote_code_kwargs())
        kwargs.update(safe_weights_kwargs(weights))
        kwargs[dtype_keyword()] = torch_dtype(self._dtype)
        try:
            with quiet_transformers():
                model, info = AutoModel.from_pretrained(str(self.folder), **kwargs)
        except Exception as exc:  # a corrupt, truncated or mismatched checkpoint
            raise weights_error(self.folder, exc) from None
        missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(_IGNORABLE_MISSING_PREFIXES))
        if missing:
            # transformers would fill these with random values; an evaluation of noise is worse than none.
            raise XharnessError(
                f"the weights in {self.folder} do not match its config: {len(missing)} tensors are missing "
                f"(e.g. {missing[0]})"
            )
        mismatched = sorted(
            (str(m[0]), tuple(m[1]), tuple(m[2])) for m in info.get("mismatched_keys", ())
            if not str(m[0]).startswith(_IGNORABLE_MISSING_PREFIXES)
        )
        if mismatched:
            key, in_file, in_config = mismatched[0]
            raise XharnessError(
                f"the weights in {self.folder} do not match its config: {len(mismatched)} tensors have other shapes "
                f"(e.g. {key} is {list(in_file)} in the weights, {list(in_config)} by config.json)"
            )
        model.eval()
        model.to(self._device)
        return model

    def _remote_code_kwargs(self) -> dict[str, Any]:
        # Always explicit: left out, transformers asks on the terminal whether to run the folder's code.
        return {"trust_remote_code": self._trust_remote_code}

    def _count_layers(self) -> int:
        n = getattr(self._config, "num_hidden_layers", None)
        if not isinstance(n, int) or n < 1:
            raise XharnessError(f"{self.folder}'s config does not say how many layers it has (num_hidden_layers)")
        return n

    def _effective_max_length(self, max_length: int | None) -> int:
        limit = self.info.max_positions
        if max_length is not None:
            if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
                raise XharnessError(f"max length must be a positive integer, not {max_length!r}")
            if limit is not None and max_length > limit:
                raise XharnessError(f"max length {max_length} exceeds {self.name}'s {limit} positions")
            return max_length
        choices = [DEFAULT_MAX_LENGTH_CAP] + ([limit] if limit else [])
        from_tokenizer = getattr(self._tokenizer, "model_max_length", None)
        # Tokenizers without a limit report a huge sentinel (1e30); that says nothing.
        if isinstance(from_tokenizer, int) and 0 < from_tokenizer < 1_000_000:
            choices.append(from_tokenizer)
        return min(choices)

    # ---- the forward pass -----------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> list[np.ndarray]:
        ids: list[np.ndarray] = []
        for start in range(0, len(texts), 4096):  # chunks bound the Python lists tokenizers build
            encoded = self._tokenizer(
                texts[start : start + 4096],
                truncation=True,
                max_length=self.max_length,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
            ids.extend(np.asarray(row, dtype=np.int64) for row in encoded["input_ids"])
        empty = [i for i, row in enumerate(ids) if row.size == 0]
        if empty:
            raise XharnessError(f"text #{empty[0]} is empty after tokenization by {self.name}; remove empty lines")
        return ids

    def _run(self, texts: list[str], batch_size: int, layers: list[int]) -> dict[int, np.ndarray]:
        import torch

        out = {layer: np.empty((len(texts), self.dimension), dtype=np.float32) for layer in layers}
        if not texts:
            return out
        ids = self._tokenize(texts)
        lengths = np.array([row.size for row in ids])
        # Longest first: padding stays small within a batch, and an out-of-memory shows up at once.
        batches = length_sorted_batches(lengths, batch_size=batch_size, max_tokens=self.max_tokens)
        pad_id = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        forward = self._model.get_encoder() if self.info.architecture == "encoder-decoder" else self._model
        # Segment ids only where the tokenizer makes them and the model takes them (BERT, not T5).
        wants_types = "token_type_ids" in getattr(self._tokenizer, "model_input_names", ()) and (
            "token_type_ids" in inspect.signature(forward.forward).parameters
        )
        hidden_needed = layers != [self.num_layers]
        with torch.inference_mode():
            for rows in batches:
                width = int(lengths[rows].max())
                input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for j, i in enumerate(rows):
                    input_ids[j, : lengths[i]] = torch.from_numpy(ids[i])
                    mask[j, : lengths[i]] = 1
                inputs = {"input_ids": input_ids.to(self._device), "attention_mask": mask.to(self._device)}
                if wants_types:
                    inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
                if self.info.architecture == "decoder":
                    inputs["use_cache"] = False
                outputs = forward(**inputs, output_hidden_states=hidden_needed, return_dict=True)
                states = outputs.hidden_states if hidden_needed else None
                if hidden_needed and len(states) != self.num_layers + 1:
                    raise XharnessError(
                        f"{self.name} returned {len(states)} hidden states, not num_hidden_layers + 1 = "
                        f"{self.num_layers + 1}; pick layers by what the model returns"
                    )
                for layer in layers:
                    # The top layer is the model's own output (some models normalise it last).
                    hidden = outputs.last_hidden_state if layer == self.num_layers else states[layer]
                    out[layer][rows] = pool(hidden, inputs["attention_mask"], self._pooling).cpu().numpy()
        return out


def absolute_layer(layer: int, num_layers: int, *, owner: str, hint: str = "") -> int:
    """`layer` as an index into the hidden states 0..num_layers (0 = embeddings; negative counts from the top)."""
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
        raise XharnessError(f"layer must be one integer, not {layer!r}{hint}")
    n = num_layers
    index = int(layer) + (n + 1 if layer < 0 else 0)
    if not 0 <= index <= n:
        raise XharnessError(
            f"layer {layer} is out of range: {owner} has {n} layers (0 = embeddings, 1..{n}, or -1..-{n + 1} from the top)"
        )
    return index


def pool(hidden, mask, pooling: str):
    """Pool token states (batch, tokens, dim) into sentence vectors (batch, dim), in float32.

    Padding is on the right, so a row's real tokens are its first `mask.sum()` positions.
    """
    import torch

    hidden = hidden.float()  # sums in bf16 lose digits a retrieval margin can feel
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "mean":
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    if pooling == "max":
        return hidden.masked_fill(weights == 0, float("-inf")).max(dim=1).values
    if pooling == "last":
        last = mask.sum(dim=1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"unknown pooling {pooling!r}")


def check_max_tokens(max_tokens: int | None) -> int | None:
    """A token budget per batch must be a positive integer (None: no budget)."""
    if max_tokens is None:
        return None
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise XharnessError(f"--max-tokens must be a positive integer, not {max_tokens!r}")
    return max_tokens


def check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode takes a sequence of strings, not one string")
    texts = list(texts)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"texts[{bad}] is {type(texts[bad]).__name__}, not str")
    return texts
