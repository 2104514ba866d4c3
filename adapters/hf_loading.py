"""How a Hugging Face checkpoint folder is read and loaded: config, dtype and device, tokenizer files, weights.

The policy lives here once for every adapter that loads one: nothing from the folder runs as
code unless asked (`trust_remote_code`), and weights load from safetensors when present, else
from a pickle through torch's `weights_only=True` unpickler (`safe_weights_kwargs`); a pickle
that needs more than tensors is refused with a pointer to safetensors (`weights_error`).
Nothing here imports torch or transformers at module level.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from xharness.errors import XharnessError

DTYPES = ("fp32", "fp16", "bf16")
_DTYPE_ALIASES = {"float32": "fp32", "float16": "fp16", "half": "fp16", "bfloat16": "bf16"}
_TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
# These families number positions from pad_token_id + 1, so 514 embeddings hold 512 tokens.
OFFSET_POSITION_TYPES = frozenset(
    "roberta xlm-roberta xlm-roberta-xl camembert longformer mpnet bertweet data2vec-text xmod "
    "roberta-prelayernorm esm".split()
)
_TOKENIZER_FILES = frozenset(
    "tokenizer.json vocab.txt vocab.json sentencepiece.bpe.model spiece.model tokenizer.model "
    "sentencepiece.model spm.model source.spm vocab.model bpe.codes".split()
)
_TOKENIZER_SUFFIXES = (".model", ".spm", ".tiktoken")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def read_config(folder: Path) -> dict[str, Any]:
    """`folder/config.json` as a dict, read without importing torch; one line when it is missing or broken."""
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


def positions_limit(config: Mapping[str, Any], model_type: str) -> int | None:
    n = config.get("max_position_embeddings") or config.get("n_positions")
    if not isinstance(n, int) or n <= 0:
        return None
    if model_type in OFFSET_POSITION_TYPES:
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


def dtype_and_device(dtype: str | None, device: str | None) -> tuple[str, str]:
    """The normalised dtype and the resolved device, checked together; on CPU, torch's threads are capped."""
    dtype, device = normalise_dtype(dtype), resolve_device(device)
    check_dtype_device(dtype, device)
    if device == "cpu":
        limit_cpu_threads()
    return dtype, device


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


def weight_files(folder: Path) -> list[Path]:
    """The weight files at the top of `folder`; refuses a folder that has none."""
    found = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES]
    if not found:
        raise XharnessError(f"{folder} has no model weights (expected model.safetensors or pytorch_model.bin)")
    return found


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
            config = read_config(folder)
        except XharnessError:
            config = {}
        if config.get("auto_map"):
            return XharnessError(
                f"{folder} needs its own Python code to load (auto_map in config.json, model_type "
                f"{config.get('model_type')!r}); xharness runs a checkpoint's code only with --trust-remote-code"
            )
    return XharnessError(f"the config in {folder} does not load: {one_line(exc)}")


def one_line(exc: BaseException, limit: int = 240) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise XharnessError(f"batch size must be a positive integer, not {batch_size!r}")
    return batch_size


def _remote(trusted: bool) -> dict[str, Any]:
    # Always explicit: left out, transformers asks on the terminal whether to run the folder's code.
    return {"trust_remote_code": bool(trusted)}


def load_config(folder: Path, *, trusted: bool):
    """`AutoConfig` of `folder`, local files only; one line when it does not load."""
    from transformers import AutoConfig

    if not trusted and read_config(folder).get("auto_map"):
        # Code the folder brings is refused whatever its model_type: with a known one, transformers
        # would quietly build the plain architecture instead of the checkpoint's own classes.
        raise config_error(folder, RuntimeError("auto_map"), trusted=False)
    try:
        with quiet_transformers():
            return AutoConfig.from_pretrained(str(folder), local_files_only=True, **_remote(trusted))
    except Exception as exc:  # an unknown model_type, or code we were not allowed to run
        raise config_error(folder, exc, trusted=trusted) from None


def load_tokenizer(folder: Path, *, trusted: bool):
    """`AutoTokenizer` of `folder`, local files only; refuses one with no vocabulary beyond its specials."""
    from transformers import AutoTokenizer

    if not has_tokenizer_files(folder):
        raise XharnessError(
            f"{folder} has no tokenizer (expected tokenizer.json, vocab.json, vocab.txt, or a sentencepiece model)"
        )
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **_remote(trusted))
    except Exception as exc:  # any failure here means the user's tokenizer does not load
        hint = ""
        if "sentencepiece" in str(exc).lower() or "protobuf" in str(exc).lower():
            hint = " (this tokenizer needs the sentencepiece and protobuf packages: pip install sentencepiece protobuf)"
        raise XharnessError(f"the tokenizer in {folder} does not load: {one_line(exc)}{hint}") from None
    if tokenizer is None or len(tokenizer) <= len(set(tokenizer.all_special_ids)):
        raise XharnessError(f"the tokenizer in {folder} has no vocabulary beyond its special tokens")
    return tokenizer


def load_weights(
    folder: Path,
    build: Callable[[dict[str, Any]], Any],
    *,
    dtype: str,
    trusted: bool,
    ignorable: tuple[str, ...] = (),
    missing_word: str = "",
):
    """`build(from_pretrained keyword arguments)` -> (model, loading info), under the weights policy.

    Refuses, in one line, weights that do not load and weights that leave tensors missing or
    shaped otherwise than the config says (transformers would fill them with random values; an
    evaluation of noise is worse than none), except those whose names start with `ignorable`.
    """
    kwargs: dict[str, Any] = {"local_files_only": True, "output_loading_info": True, **_remote(trusted)}
    kwargs.update(safe_weights_kwargs(weight_files(folder)))
    kwargs[dtype_keyword()] = torch_dtype(dtype)
    try:
        with quiet_transformers():
            model, info = build(kwargs)
    except Exception as exc:  # a corrupt, truncated or mismatched checkpoint
        raise weights_error(folder, exc) from None
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(ignorable))
    if missing:
        raise XharnessError(
            f"the weights in {folder} do not match its config: {len(missing)} {missing_word}tensors "
            f"are missing (e.g. {missing[0]})"
        )
    mismatched = sorted(
        (str(m[0]), tuple(m[1]), tuple(m[2])) for m in info.get("mismatched_keys", ()) if not str(m[0]).startswith(ignorable)
    )
    if mismatched:
        key, in_file, in_config = mismatched[0]
        raise XharnessError(
            f"the weights in {folder} do not match its config: {len(mismatched)} tensors have other shapes "
            f"(e.g. {key} is {list(in_file)} in the weights, {list(in_config)} by config.json)"
        )
    return model
