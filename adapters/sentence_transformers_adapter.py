"""A sentence-transformers folder (modules.json) as an adapter, encoded exactly as its authors set it up.

Its pooling and layer are part of the model (1_Pooling, the module list), so options that would
change them are refused rather than ignored; `--adapter transformers` pools the raw encoder instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from xharness.adapters.base import check_embeddings, digest, folder_fingerprint
from xharness.adapters.families import classify, describe
from xharness.adapters.hf_loading import (
    check_batch_size,
    check_texts,
    dtype_and_device,
    dtype_keyword,
    has_tokenizer_files,
    one_line,
    positions_limit,
    quiet_transformers,
    read_config,
    refused_pickle,
    torch_dtype,
    weights_error,
)
from xharness.adapters.options import AdapterOptions
from xharness.errors import XharnessError


def encoder_subfolder(folder: Path) -> Path | None:
    """Where a sentence-transformers folder keeps its Transformer module ("" or "0_Transformer")."""
    try:
        modules = json.loads((Path(folder) / "modules.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise XharnessError(f"{Path(folder) / 'modules.json'} is not readable JSON: {one_line(exc)}") from None
    if not isinstance(modules, list):
        raise XharnessError(f"{Path(folder) / 'modules.json'} is not a list of modules")
    for module in modules:
        if isinstance(module, dict) and str(module.get("type", "")).endswith(".Transformer"):
            return Path(folder) / str(module.get("path", ""))
    return None


class SentenceTransformersAdapter:
    """`SentenceTransformer(folder).encode`, with its own pooling and normalisation.

    Args:
        folder: a sentence-transformers folder (modules.json, 1_Pooling/, ...).
        options: max_length (overrides the model's `max_seq_length`; None keeps the folder's),
            dtype ("fp32" default, "bf16", or "fp16" on GPU only), device ("cpu", "cuda",
            "cuda:N"; None is CUDA when available), trust_remote_code (run the folder's own
            modelling code). Pooling and layer belong to the folder, and it batches by count.
        name: the human name; defaults to the folder's name.
    """

    kind = "sentence-transformers"
    accepts: ClassVar[frozenset[str]] = frozenset({"max_length", "dtype", "device", "trust_remote_code"})
    refusal_hint: ClassVar[str] = (
        " (its pooling and layer are set in the folder, and it batches by count); use --adapter transformers "
        "to pool, pick a layer of, or batch by tokens its encoder yourself"
    )

    def __init__(
        self, folder: str | os.PathLike, *, options: AdapterOptions = AdapterOptions(), name: str | None = None, weights: bool = True
    ) -> None:
        self.folder = Path(folder)
        if not (self.folder / "modules.json").is_file():
            raise XharnessError(f"{self.folder} has no modules.json, so it is not a sentence-transformers folder")
        self.name = name or self.folder.resolve().name
        self._dtype, self._device = dtype_and_device(options.dtype, options.device)
        self._trust_remote_code = bool(options.trust_remote_code)
        encoder = encoder_subfolder(self.folder)
        if encoder is not None and not has_tokenizer_files(encoder):
            # transformers would build an empty-vocabulary tokenizer and encode every word as [UNK].
            raise XharnessError(
                f"{encoder} has no tokenizer (expected tokenizer.json, vocab.txt, or a sentencepiece model)"
            )
        if weights:
            self._model = self._load()
            self.max_length = self._set_max_length(options.max_length, encoder)
        else:  # the description alone (see `files_max_length`): what --finetune needs
            self._model = None
            self.max_length = self._checked_max_length(options.max_length, encoder)
            if self.max_length is None:
                self.max_length = files_max_length(self.folder, encoder, trusted=self._trust_remote_code)
        self._files = folder_fingerprint(self.folder)

    @property
    def fingerprint(self) -> str:
        return digest(
            {"kind": self.kind, "files": self._files, "max_length": self.max_length, "dtype": self._dtype}
        )

    @property
    def options(self) -> dict[str, Any]:
        return {
            "max_length": self.max_length,
            "dtype": self._dtype,
            "device": self._device,
            "trust_remote_code": self._trust_remote_code,
        }

    @property
    def dimension(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed `texts`; float32 (len(texts), dimension). sentence-transformers sorts by length itself."""
        texts = check_texts(texts)
        check_batch_size(batch_size)
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
            normalize_embeddings=False,
        )
        return check_embeddings(vectors, len(texts), who=f"{self.name} ({self.kind})")

    def _load(self):
        from sentence_transformers import SentenceTransformer

        model_kwargs = {} if self._dtype == "fp32" else {dtype_keyword(): torch_dtype(self._dtype)}
        try:
            with quiet_transformers():
                return SentenceTransformer(
                    str(self.folder),
                    device=self._device,
                    trust_remote_code=self._trust_remote_code,
                    local_files_only=True,
                    model_kwargs=model_kwargs or None,
                )
        except Exception as exc:  # any failure here means the user's folder does not load
            if refused_pickle(exc):
                raise weights_error(self.folder, exc) from None
            raise XharnessError(
                f"{self.folder} does not load as a sentence-transformers model: {one_line(exc)}"
            ) from None

    def _set_max_length(self, max_length: int | None, encoder: Path | None) -> int | None:
        if max_length is None:
            current = getattr(self._model, "max_seq_length", None)
            return int(current) if isinstance(current, int) else None
        self._model.max_seq_length = self._checked_max_length(max_length, encoder)
        return max_length

    def _checked_max_length(self, max_length: int | None, encoder: Path | None) -> int | None:
        if max_length is None:
            return None
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise XharnessError(f"max length must be a positive integer, not {max_length!r}")
        limit = _encoder_positions(encoder or self.folder)  # no Transformer module: a CLIP module at the root
        if limit is not None and max_length > limit:
            raise XharnessError(f"max length {max_length} exceeds {self.name}'s {limit} positions")
        return max_length


class NotDescribable(Exception):
    """The folder's files alone do not say what loading it would give; load it instead."""


def files_max_length(folder: Path, encoder: Path | None, *, trusted: bool) -> int:
    """The `max_seq_length` sentence-transformers would give the folder, read from its files.

    What its Transformer module does on load: the `max_seq_length` of `sentence_bert_config.json`
    when set, else the tokenizer's `model_max_length` capped at the config's
    `max_position_embeddings`. Only for folders whose first module is that Transformer; any other
    layout raises NotDescribable (the caller loads the model).
    """
    from xharness.adapters.hf_loading import load_tokenizer

    try:
        modules = json.loads((Path(folder) / "modules.json").read_text(encoding="utf-8"))
        first = str(modules[0].get("type", ""))
    except (OSError, ValueError, LookupError, AttributeError, TypeError):
        raise NotDescribable(folder) from None
    if encoder is None or not first.endswith(".Transformer") or Path(folder) / str(modules[0].get("path", "")) != encoder:
        raise NotDescribable(folder)
    try:
        sbert = json.loads((encoder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        sbert = {}
    except (OSError, ValueError):
        raise NotDescribable(folder) from None
    given = sbert.get("max_seq_length") if isinstance(sbert, dict) else None
    if isinstance(given, int) and not isinstance(given, bool):
        return given
    if isinstance(sbert, dict) and (sbert.get("tokenizer_args") or sbert.get("processor_kwargs")):
        raise NotDescribable(folder)  # the tokenizer is built with arguments of its own
    length = getattr(load_tokenizer(encoder, trusted=trusted), "model_max_length", None)
    positions = read_config(encoder).get("max_position_embeddings")
    if isinstance(positions, int) and positions != -1:
        length = positions if not isinstance(length, int) else min(length, positions)
    if not isinstance(length, int):
        raise NotDescribable(folder)
    return length


def _encoder_positions(encoder: Path | None) -> int | None:
    if encoder is None:
        return None
    try:
        config = read_config(encoder)
    except XharnessError:
        return None
    try:
        dual = classify(config) is not None
    except XharnessError:
        return None
    if dual:  # the text tower's positions; a released config.json often leaves them to the defaults
        from transformers import AutoConfig

        try:
            return describe(AutoConfig.from_pretrained(str(encoder), local_files_only=True)).max_positions
        except Exception:  # an unreadable config: sentence-transformers itself will have the last word
            return None
    return positions_limit(config, str(config.get("model_type") or ""))
