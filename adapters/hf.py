"""One Hugging Face encoder: tokenise, batch by length, run the forward pass, pick layers, pool.

`HFEncoder` owns what every checkpoint loaded through transformers shares. Its subclasses,
`TransformersAdapter` (a text checkpoint) and `TextTowerAdapter` (the text tower of a
vision-language dual encoder), differ only where the model differs: how config.json is read,
which module is built, what a forward pass is fed, and what a text becomes when no pooling is
asked for. torch and transformers are imported inside methods, so importing this stays cheap.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from xharness.adapters.base import check_embeddings, digest, folder_fingerprint
from xharness.adapters.batching import length_sorted_batches
from xharness.adapters.hf_loading import (
    check_batch_size,
    check_max_tokens,
    check_texts,
    dtype_and_device,
    load_config,
    load_tokenizer,
    load_weights,
)
from xharness.adapters.options import EVERY_OPTION, AdapterOptions
from xharness.errors import XharnessError

POOLINGS = ("mean", "cls", "max", "last")
# The hard ceiling of a default max length; XTREME and sentence-transformers never go above it.
DEFAULT_MAX_LENGTH_CAP = 512


class HFEncoder(ABC):
    """Pooled hidden states (or the model's own features) of a checkpoint folder.

    Args:
        folder: a local checkpoint folder (config.json, weights, tokenizer files).
        options: pooling ("mean" masked over all tokens including special ones, as XTREME and
            sentence-transformers do; "cls" first token; "max" masked; "last" last real token),
            layer (index into the hidden states: 0 the embeddings, 1..L the layers, negative from
            the top), max_length (tokens kept per text), dtype ("fp32", "bf16", "fp16" on GPU
            only), device ("cpu", "cuda", "cuda:N"; None is CUDA when available), max_tokens (a
            padded-token budget per batch) and trust_remote_code (run the checkpoint's own code).
        name: the human name; defaults to the folder's name.
        weights: False reads config and tokenizer only (name, kind, fingerprint and options are
            the loaded adapter's; `encode` is not available): what `--finetune` needs.

    Attributes:
        encoded, truncated: texts that went through the model since it loaded, and how many of
            them were cut at max_length (the runner records the latter in each result).
    """

    kind: ClassVar[str]
    accepts: ClassVar[frozenset[str]] = EVERY_OPTION
    refusal_hint: ClassVar[str] = ""
    _positions_word: ClassVar[str] = "positions"  # how messages name the position table
    _ignorable_missing: ClassVar[tuple[str, ...]] = ()  # weights whose absence changes no vector
    _missing_word: ClassVar[str] = ""

    def __init__(
        self, folder: str | Path, *, options: AdapterOptions = AdapterOptions(), name: str | None = None, weights: bool = True
    ) -> None:
        self.folder = Path(folder)
        self.max_tokens = check_max_tokens(options.max_tokens)
        if not self.folder.is_dir():
            raise XharnessError(f"{self.folder} is not a folder")
        self._read_folder()
        self.name = name or self.folder.resolve().name
        self._dtype, self._device = dtype_and_device(options.dtype, options.device)
        self._trust_remote_code = bool(options.trust_remote_code)
        # Config and tokenizer first: a bad layer or length is refused before gigabytes load.
        self._config = self._load_config()
        self._read_config()
        self._pooling = self._check_pooling(options.pooling, options.layer)
        self._layer = None if self._pooling is None else self.resolve_layer(-1 if options.layer is None else options.layer)
        self._tokenizer = self._load_tokenizer()
        self.max_length = self._effective_max_length(options.max_length)
        self._model = self._load_model() if weights else None
        self._files = folder_fingerprint(self.folder)
        self.encoded = 0
        self.truncated = 0

    # ---- what subclasses say about their model --------------------------------------------

    num_layers: int
    hidden_size: int

    @abstractmethod
    def _read_folder(self) -> None:
        """Read config.json without torch; refuse a checkpoint of the other kind."""

    @abstractmethod
    def _read_config(self) -> None:
        """Set `num_layers` and `hidden_size` (and whatever else) from the loaded config."""

    def _default_pooling(self, layer: int | None) -> str | None:
        """The pooling when none is asked for; None means the model's own features."""
        return "mean"

    def _cls_refusal(self) -> str | None:
        """Why cls pooling does not suit this model (its first token sees only itself), or None."""
        return None

    @abstractmethod
    def _limits(self) -> tuple[int | None, int | None]:
        """(tokens the position table holds, the length to use when none is asked for)."""

    @abstractmethod
    def _from_pretrained(self, kwargs: dict[str, Any]):
        """Build the module from the folder: (model, loading info)."""

    def _prepared(self, model):
        """The built module made ready to encode (e.g. a pair with its vision side dropped)."""
        return model

    def _tower(self):
        """The module whose hidden states are pooled."""
        return self._model

    def _extra_inputs(self, tower) -> frozenset[str]:
        """Which of attention_mask, token_type_ids and use_cache the forward pass is given."""
        return frozenset({"attention_mask"})

    def _default_features(self, inputs: dict[str, Any]):
        """What a text becomes when no pooling is asked for (a tensor (batch, dimension))."""
        raise NotImplementedError(f"{type(self).__name__} always pools")

    def _default_dimension(self) -> int:
        return self.hidden_size

    def _described(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Options this kind records before pooling/layer/max_length, and after them."""
        return {}, {}

    def _identity(self) -> dict[str, Any]:
        """What beyond files, pooling, layer, max length and dtype decides the vectors."""
        return {}

    @property
    def _owner(self) -> str:
        return self.name

    @property
    def _fixed_padding(self) -> bool:
        return False

    # ---- the Adapter protocol -------------------------------------------------------------

    @property
    def layer(self) -> int | None:
        """The configured layer as an absolute index into the hidden states (None: the model's own features)."""
        return self._layer

    @property
    def dimension(self) -> int:
        return int(self._default_dimension() if self._pooling is None else self.hidden_size)

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
                **self._identity(),
            }
        )

    @property
    def options(self) -> dict[str, Any]:
        before, after = self._described()
        return {
            **before,
            "pooling": self._pooling,
            "layer": self._layer,
            "max_length": self.max_length,
            **after,
            "dtype": self._dtype,
            "device": self._device,
            "trust_remote_code": self._trust_remote_code,
            "max_tokens": self.max_tokens,
        }

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed `texts` with the configured features; float32 (len(texts), dimension)."""
        if self._pooling is None:
            texts = check_texts(texts)
            vectors = self._run(texts, check_batch_size(batch_size), None)[None]
            return check_embeddings(vectors, len(texts), who=f"{self.name} ({self.kind})")
        return self.encode_layers(texts, batch_size=batch_size, layers=[self._layer])[self._layer]

    def stats(self) -> dict[str, int]:
        """Counts since load: texts that went through the model, and how many were cut at max_length."""
        return {"encoded": self.encoded, "truncated": self.truncated, "max_length": self.max_length}

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many of `texts` are longer than max_length tokens (tokenizer only; no forward pass)."""
        return sum(cut for _, cut in self._tokenize(check_texts(texts)))

    # ---- layers ---------------------------------------------------------------------------

    def resolve_layer(self, layer: int) -> int:
        """An absolute hidden-state index for `layer` (negative counts from the top)."""
        return absolute_layer(
            layer, self.num_layers, owner=self._owner,
            hint="; to get several layers from one pass use encode_layers(texts, layers=[...])",
        )

    def with_layer(self, layer: int) -> "HFEncoder":
        """The same loaded model pooling another layer (mean pooling unless one was chosen)."""
        other = copy.copy(self)
        other._pooling = self._pooling or "mean"
        other._layer = self.resolve_layer(layer)
        return other

    def encode_layers(
        self, texts: Sequence[str], *, batch_size: int = 32, layers: Sequence[int] | None = None
    ) -> dict[int, np.ndarray]:
        """Embed `texts` at several layers from one forward pass.

        Pools with the configured pooling (mean when the adapter was built for the model's own features).

        Args:
            texts: the sentences.
            batch_size: sentences per forward pass.
            layers: hidden-state indices (negative from the top); None is every layer, 0..L.

        Returns:
            {layer as given: float32 (len(texts), hidden size)}.
        """
        texts = check_texts(texts)
        check_batch_size(batch_size)
        wanted = list(range(self.num_layers + 1)) if layers is None else list(layers)
        absolute = {given: self.resolve_layer(given) for given in wanted}
        pooled = self._run(texts, batch_size, sorted(set(absolute.values())))
        who = f"{self.name} ({self.kind})"
        return {given: check_embeddings(pooled[index], len(texts), who=who) for given, index in absolute.items()}

    # ---- loading --------------------------------------------------------------------------

    def _check_pooling(self, pooling: str | None, layer: int | None) -> str | None:
        if pooling is None:
            return self._default_pooling(layer)
        pooling = str(pooling).lower()
        if pooling not in POOLINGS:
            raise XharnessError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        refusal = self._cls_refusal() if pooling == "cls" else None
        if refusal:
            raise XharnessError(refusal)
        return pooling

    def _load_config(self):
        return load_config(self.folder, trusted=self._trust_remote_code)

    def _load_tokenizer(self):
        return load_tokenizer(self.folder, trusted=self._trust_remote_code)

    def _effective_max_length(self, max_length: int | None) -> int:
        limit, default = self._limits()
        if max_length is not None:
            if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
                raise XharnessError(f"max length must be a positive integer, not {max_length!r}")
            if limit is not None and max_length > limit:
                raise XharnessError(f"max length {max_length} exceeds {self.name}'s {limit} {self._positions_word}")
            specials = self._special_tokens()
            if max_length <= specials:
                raise XharnessError(
                    f"--max-length {max_length} leaves no room for text: {self.name}'s tokenizer adds {specials} "
                    f"special token(s) to every sentence; use at least {specials + 1}"
                )
            return max_length
        choices = [DEFAULT_MAX_LENGTH_CAP] + ([default] if default else [])
        from_tokenizer = getattr(self._tokenizer, "model_max_length", None)
        # Tokenizers without a limit report a huge sentinel (1e30); that says nothing.
        if isinstance(from_tokenizer, int) and 0 < from_tokenizer < 1_000_000:
            choices.append(from_tokenizer)
        return min(choices)

    def _special_tokens(self) -> int:
        """Tokens the tokenizer adds around one sentence ([CLS] ... [SEP], <s> ... </s>)."""
        try:
            return int(self._tokenizer.num_special_tokens_to_add(pair=False))
        except (AttributeError, NotImplementedError, TypeError):
            return 0

    def _load_model(self):
        model = load_weights(
            self.folder, self._from_pretrained, dtype=self._dtype, trusted=self._trust_remote_code,
            ignorable=self._ignorable_missing, missing_word=self._missing_word,
        )
        model = self._prepared(model)
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

    def _run(self, texts: list[str], batch_size: int, layers: list[int] | None) -> dict[Any, np.ndarray]:
        """{None: the model's own features} (layers None) or {layer: pooled hidden states}, in text order."""
        import torch

        width = self.dimension if layers is None else self.hidden_size
        out = {key: np.empty((len(texts), width), dtype=np.float32) for key in (layers or [None])}
        if not texts:
            return out
        rows = self._tokenize(texts)
        self.encoded += len(rows)
        self.truncated += sum(cut for _, cut in rows)
        lengths = np.array([ids.size for ids, _ in rows])
        fixed = self._fixed_padding
        # Longest first: little padding, early out-of-memory; fixed padding makes every row max_length wide.
        widths = np.full_like(lengths, self.max_length) if fixed else lengths
        batches = length_sorted_batches(widths, batch_size=batch_size, max_tokens=self.max_tokens)
        left = fixed and getattr(self._tokenizer, "padding_side", "right") == "left"
        pad_id = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        tower = self._tower()
        extra = self._extra_inputs(tower)
        hidden_needed = layers is not None and layers != [self.num_layers]
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
                inputs: dict[str, Any] = {"input_ids": input_ids.to(self._device)}
                mask = real.to(self._device)
                if "attention_mask" in extra:
                    inputs["attention_mask"] = mask
                if "token_type_ids" in extra:
                    inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
                if "use_cache" in extra:
                    inputs["use_cache"] = False
                if layers is None:
                    out[None][batch] = self._default_features(inputs).float().cpu().numpy()
                    continue
                result = tower(**inputs, output_hidden_states=hidden_needed, return_dict=True)
                states = result.hidden_states if hidden_needed else None
                if hidden_needed and len(states) != self.num_layers + 1:
                    raise XharnessError(
                        f"{self._owner} returned {len(states)} hidden states, not num_hidden_layers + 1 = "
                        f"{self.num_layers + 1}; pick layers by what the model returns"
                    )
                for layer in layers:
                    # The top layer is the model's own output (some models normalise it last).
                    hidden = result.last_hidden_state if layer == self.num_layers else states[layer]
                    out[layer][batch] = pool(hidden, mask, self._pooling or "mean").cpu().numpy()
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

    `mask` marks real tokens (1) against padding (0), on either side; cls and last take the
    first and last real token.
    """
    import torch

    hidden = hidden.float()  # sums in bf16 lose digits a retrieval margin can feel
    if pooling in ("cls", "last"):
        positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
        if pooling == "cls":
            index = torch.where(mask.bool(), positions, mask.shape[1]).min(dim=1).values
        else:
            index = torch.where(mask.bool(), positions, -1).max(dim=1).values
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), index]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if pooling == "mean":
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    if pooling == "max":
        return hidden.masked_fill(weights == 0, float("-inf")).max(dim=1).values
    raise ValueError(f"unknown pooling {pooling!r}")
