"""Vision-language dual encoders: recognition from config.json, the text tower's features, refusals,
the published configurations' shapes, and end-to-end CLI runs on tiny random checkpoints of each family."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from bucc_fixture import SHARED_TATOEBA, build_from_tatoeba
from xharness.adapters import AdapterOptions, load_adapter
from xharness.adapters.families import FAMILIES, classify, describe
from xharness.adapters.text_towers import TextTowerAdapter
from xharness.cli import main
from xharness.errors import XharnessError

FAMILY_TYPES = ["clip", "siglip", "siglip2", "chinese_clip", "altclip", "metaclip_2", "vision-text-dual-encoder"]
# The max length each tiny family gets: CLIP's 77 positions, SigLIP's 64, Chinese-CLIP's trained 52
# (its tiny tower has 128 positions), the tiny AltCLIP's 64 (66 positions less the RoBERTa offset; 77 trained).
MAX_LENGTH = {"clip": 77, "siglip": 64, "siglip2": 64, "chinese_clip": 52, "altclip": 64, "metaclip_2": 77, "vision-text-dual-encoder": 64}
TEXTS = [
    "The cat sleeps on the warm mat.",
    "猫在温暖的垫子上睡觉。",
    "Un chien.",
    "",
    "Kinder spielen nach der Schule Fußball, und die Sonne scheint über dem grünen Park. " * 6,
]


@pytest.fixture(scope="module")
def reference(tiny_dual_encoder):
    """The full two-tower model and tokenizer of a family, loaded the plain transformers way (cached per family)."""
    import transformers

    cache = {}

    def get(model_type):
        if model_type not in cache:
            folder = tiny_dual_encoder(model_type)
            cache[model_type] = (
                transformers.AutoModel.from_pretrained(str(folder)).eval(),
                transformers.AutoTokenizer.from_pretrained(str(folder)),
            )
        return cache[model_type]

    return get


def model_inputs(model_type, tokenizer, texts, max_length):
    """Tokenised as the family expects: SigLIP padded to the full length with no mask, the others to the batch."""
    if FAMILIES[model_type].padding == "max_length":
        enc = tokenizer(texts, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
        return {"input_ids": enc["input_ids"]}
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def tower_of(model_type, full):
    return full.text_model.roberta if model_type == "altclip" else full.text_model


# ---- recognition from config.json ------------------------------------------------------------


def write_config(folder, config):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_known_families_are_recognised_by_model_type(model_type):
    assert classify({"model_type": model_type}) is FAMILIES[model_type]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"model_type": "vit", "image_size": 224, "patch_size": 16}, "is a vision-only checkpoint (vit)"),
        ({"model_type": "dinov2", "architectures": ["Dinov2Model"]}, "vision-only checkpoint (dinov2, Dinov2Model)"),
        ({"model_type": "clip_vision_model", "hidden_size": 768}, "vision-only checkpoint (clip_vision_model)"),
        ({"model_type": "siglip_vision_model"}, "vision-only checkpoint (siglip_vision_model)"),
        ({"model_type": "mystery", "vision_config": {"hidden_size": 8}}, "vision-only checkpoint (mystery)"),
        (
            {"model_type": "llava", "architectures": ["LlavaForConditionalGeneration"], "text_config": {}, "vision_config": {}},
            "generative vision-language model (llava, LlavaForConditionalGeneration)",
        ),
        ({"model_type": "owlvit", "text_config": {}, "vision_config": {}}, "cannot split out; recognised dual encoders: clip"),
        ({"model_type": "some_tts", "text_config": {"vocab_size": 9}}, "nests its text model in text_config with no vision_config (some_tts)"),
    ],
)
def test_what_has_no_usable_text_tower_is_refused_in_one_line(tmp_path, config, message):
    folder = write_config(tmp_path / "ckpt", config)
    with pytest.raises(XharnessError) as info:
        load_adapter(folder)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_text_checkpoints_are_not_dual_encoders(tiny_bert_dir, tmp_path):
    assert classify({"model_type": "bert", "vocab_size": 10}) is None
    gpt2 = write_config(tmp_path / "gpt2", {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50})
    with pytest.raises(XharnessError, match=r"is not a vision-language dual encoder \(gpt2\); use --adapter transformers"):
        load_adapter(gpt2, adapter="text-tower")
    with pytest.raises(XharnessError, match="is not a vision-language dual encoder"):
        TextTowerAdapter(tiny_bert_dir)


def test_transformers_adapter_does_not_silently_embed_a_clip_folder(tiny_dual_encoder):
    from xharness.adapters.transformers_adapter import TransformersAdapter

    with pytest.raises(XharnessError, match="is a vision-language dual encoder \\(clip\\); its text tower loads through load_adapter"):
        TransformersAdapter(tiny_dual_encoder("clip"))
    # Asking for the transformers adapter by name still gets the text tower, not AutoModel's two-tower forward.
    assert load_adapter(tiny_dual_encoder("clip"), adapter="transformers").kind == "text-tower"


def test_adapters_listing_names_the_dual_encoder_families():
    result = CliRunner().invoke(main, ["adapters"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("text-tower:"))
    for name in ("CLIP (clip)", "SigLIP", "(siglip2)", "Chinese-CLIP (chinese_clip)", "AltCLIP", "(metaclip_2)"):
        assert name in line
    probe = (
        "import sys; from xharness.adapters import list_adapters; rows = list_adapters(); "
        "assert any(r['name'] == 'text-tower' for r in rows); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


# ---- published configurations (shapes only: no weights are fetched or built) ---------------

# Values as the released config.json files state them (fields left out take the config class's
# defaults, exactly as when transformers reads the released file).
PUBLISHED = {
    # openai/clip-vit-base-patch32, as transformers re-saves it (e.g. the onnx-community copy's config.json)
    "openai/clip-vit-base-patch32": {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 512, "logit_scale_init_value": 2.6592,
        "text_config": {"bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2, "model_type": "clip_text_model"},
        "vision_config": {"dropout": 0.0, "model_type": "clip_vision_model"},
    },
    # openai/clip-vit-large-patch14 (Xenova's copy of its config.json)
    "openai/clip-vit-large-patch14": {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 768,
        "text_config": {"dropout": 0.0, "hidden_size": 768, "intermediate_size": 3072, "model_type": "clip_text_model",
                        "num_attention_heads": 12, "projection_dim": 768},
        "vision_config": {"dropout": 0.0, "hidden_size": 1024, "intermediate_size": 4096, "model_type": "clip_vision_model",
                          "num_attention_heads": 16, "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768},
    },
    # google/siglip-base-patch16-224 at commit 78005bda
    "google/siglip-base-patch16-224": {
        "architectures": ["SiglipModel"], "initializer_factor": 1.0, "model_type": "siglip",
        "text_config": {"hidden_size": 768, "intermediate_size": 3072, "model_type": "siglip_text_model",
                        "num_attention_heads": 12, "vocab_size": 32000},
        "vision_config": {"model_type": "siglip_vision_model", "patch_size": 16},
    },
    # google/siglip2-base-patch16-512 at a89f5c50 (SigLIP 2 at fixed resolution ships as model_type "siglip")
    "google/siglip2-base-patch16-512": {
        "initializer_factor": 1.0, "model_type": "siglip",
        "text_config": {"model_type": "siglip_text_model", "vocab_size": 256000},
        "vision_config": {"image_size": 512, "model_type": "siglip_vision_model"},
    },
    # OFA-Sys/chinese-clip-vit-base-patch16 (as transformers 4.42 re-saves it)
    "OFA-Sys/chinese-clip-vit-base-patch16": {
        "architectures": ["ChineseCLIPModel"], "model_type": "chinese_clip", "projection_dim": 512,
        "text_config": {"architectures": ["ChineseCLIPTextModel"], "bos_token_id": 0, "directionality": "bidi",
                        "eos_token_id": 2, "model_type": "chinese_clip_text_model", "output_past": True,
                        "pooler_fc_size": 768, "pooler_num_attention_heads": 12, "pooler_num_fc_layers": 3,
                        "pooler_size_per_head": 128, "pooler_type": "first_token_transform", "vocab_size": 21128},
        "vision_config": {"dropout": 0.0, "model_type": "chinese_clip_vision_model", "patch_size": 16},
    },
    # OFA-Sys/chinese-clip-vit-large-patch14 at 660941af (text fields as stated there)
    "OFA-Sys/chinese-clip-vit-large-patch14": {
        "architectures": ["ChineseCLIPModel"], "model_type": "chinese_clip", "projection_dim": 768,
        "text_config": {"hidden_size": 768, "intermediate_size": 3072, "max_position_embeddings": 512,
                        "model_type": "chinese_clip_text_model", "num_attention_heads": 12, "num_hidden_layers": 12,
                        "pad_token_id": 0, "vocab_size": 21128},
        "vision_config": {"hidden_size": 1024, "intermediate_size": 4096, "model_type": "chinese_clip_vision_model",
                          "num_attention_heads": 16, "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768},
    },
    # BAAI/AltCLIP (main); the fields after max_position_embeddings were not readable here and come
    # from AltCLIPTextConfig's defaults, which transformers documents as BAAI/AltCLIP's.
    "BAAI/AltCLIP": {
        "architectures": ["AltCLIPModel"], "model_type": "altclip", "projection_dim": 768,
        "text_config": {"bos_token_id": 0, "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1024,
                        "intermediate_size": 4096, "layer_norm_eps": 1e-05, "max_position_embeddings": 514,
                        "model_type": "altclip_text_model"},
        "vision_config": {"model_type": "altclip_vision_model"},
    },
}
# family, text hidden size, text layers, projection width, position table (usable), default max length, vocab
EXPECTED = {
    "openai/clip-vit-base-patch32": ("clip", 512, 12, 512, 77, 77, 49408),
    "openai/clip-vit-large-patch14": ("clip", 768, 12, 768, 77, 77, 49408),
    "google/siglip-base-patch16-224": ("siglip", 768, 12, 768, 64, 64, 32000),
    "google/siglip2-base-patch16-512": ("siglip", 768, 12, 768, 64, 64, 256000),
    "OFA-Sys/chinese-clip-vit-base-patch16": ("chinese_clip", 768, 12, 512, 512, 52, 21128),
    "OFA-Sys/chinese-clip-vit-large-patch14": ("chinese_clip", 768, 12, 768, 512, 52, 21128),
    "BAAI/AltCLIP": ("altclip", 1024, 24, 768, 512, 77, 250002),
}


@pytest.mark.parametrize("repo", sorted(PUBLISHED))
def test_published_configurations_read_right(repo):
    from transformers import AutoConfig

    raw = PUBLISHED[repo]
    family, hidden, layers, projection, positions, default, vocab = EXPECTED[repo]
    assert classify(raw).model_type == family
    config = AutoConfig.for_model(**json.loads(json.dumps(raw)))
    tower = describe(config)
    assert tower.family.model_type == family
    assert (tower.hidden_size, tower.num_layers, tower.projection_dim) == (hidden, layers, projection)
    assert (tower.max_positions, tower.default_max_length) == (positions, default)
    assert tower.causal is (family == "clip")
    assert config.text_config.vocab_size == vocab


def test_siglip_2_naflex_and_old_clip_configs():
    from transformers import Siglip2Config

    # No released SigLIP 2 NaFlex config.json was readable here: this is its documented shape
    # (Gemma's 256k vocabulary, 64 text tokens), read through Siglip2Config's defaults.
    tower = describe(Siglip2Config.from_dict({"text_config": {"vocab_size": 256000}, "vision_config": {"num_patches": 256}}))
    assert (tower.family.model_type, tower.max_positions, tower.projection_dim) == ("siglip2", 64, 768)
    # Early CLIP uploads spelled the towers text_config_dict / vision_config_dict.
    old = {"model_type": "clip", "projection_dim": 768, "text_config_dict": {"hidden_size": 768, "max_position_embeddings": 77,
           "num_hidden_layers": 12, "model_type": "clip_text_model"}, "vision_config_dict": {"hidden_size": 1024}}
    assert (describe(old).hidden_size, describe(old).max_positions, describe(old).projection_dim) == (768, 77, 768)
    # A released config.json that leaves the defaults out says nothing about positions until transformers reads it.
    assert describe(PUBLISHED["google/siglip-base-patch16-224"]).max_positions is None


# ---- the text tower on tiny checkpoints ------------------------------------------------------


@pytest.mark.parametrize("model_type", FAMILY_TYPES)
def test_default_embedding_is_get_text_features(tiny_dual_encoder, reference, model_type):
    import torch

    enc = load_adapter(tiny_dual_encoder(model_type))
    assert enc.kind == "text-tower"
    assert enc.options["features"] == "projected" and enc.options["family"] == model_type
    assert enc.options["max_length"] == MAX_LENGTH[model_type]
    assert enc.options["padding"] == FAMILIES[model_type].padding
    full, tokenizer = reference(model_type)
    with torch.no_grad():
        expected = full.get_text_features(**model_inputs(model_type, tokenizer, TEXTS, enc.max_length)).pooler_output.numpy()
    got = enc.encode(TEXTS, batch_size=2)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), enc.dimension) == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Only the text side is held: the text class for CLIP/SigLIP, the pair minus its vision tower otherwise.
    assert not [name for name, _ in enc._model.named_modules() if name.startswith(("vision", "visual"))]
    # The last text is longer than every family's max length.
    assert enc.stats() == {"encoded": len(TEXTS), "truncated": 1, "max_length": enc.max_length}
    assert enc.count_truncated(TEXTS) == 1 and enc.count_truncated(TEXTS[:1]) == 0
    # Every family's tower also gives its hidden states (what the layer sweep pools).
    layers = enc.encode_layers(TEXTS[:3], layers=[0, -1])
    assert layers[0].shape == layers[-1].shape == (3, enc.tower.hidden_size)


@pytest.mark.parametrize("model_type", ["clip", "siglip", "altclip"])
def test_pooling_and_layers_equal_a_hand_computation_on_the_towers_hidden_states(tiny_dual_encoder, reference, model_type):
    import torch

    folder = tiny_dual_encoder(model_type)
    full, tokenizer = reference(model_type)
    enc = load_adapter(folder, options=AdapterOptions(pooling="mean"))
    assert (enc.options["features"], enc.options["layer"], enc.dimension) == ("hidden", 2, 32)
    fixed = FAMILIES[model_type].padding == "max_length"
    expected = {}
    with torch.no_grad():
        for i, text in enumerate(TEXTS):
            # One text at a time: the longest-padding families see no padding at all, SigLIP its 64 tokens.
            inputs = model_inputs(model_type, tokenizer, [text], enc.max_length)
            out = tower_of(model_type, full)(**inputs, output_hidden_states=True)
            # The text's own tokens (SigLIP pads with its </s>, so padding cannot be told from the ids).
            real = len(tokenizer(text, truncation=True, max_length=enc.max_length)["input_ids"])
            states = [h[0, :real].numpy() for h in out.hidden_states[:-1]] + [out.last_hidden_state[0, :real].numpy()]
            for layer in (0, 1, 2):
                h = states[layer]
                expected[("mean", layer, i)] = h.mean(0)
                expected[("max", layer, i)] = h.max(0)
                expected[("last", layer, i)] = h[-1]
                expected[("cls", layer, i)] = h[0]
    poolings = ["mean", "max", "last"] + ([] if model_type == "clip" else ["cls"])
    for pooling in poolings:
        enc = load_adapter(folder, options=AdapterOptions(pooling=pooling))
        by_layer = enc.encode_layers(TEXTS, batch_size=2, layers=[0, 1, -1])
        for layer, got in ((0, by_layer[0]), (1, by_layer[1]), (2, by_layer[-1])):
            want = np.stack([expected[(pooling, layer, i)] for i in range(len(TEXTS))])
            np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"{pooling} layer {layer}")
        np.testing.assert_allclose(enc.with_layer(1).encode(TEXTS), by_layer[1], atol=1e-6)


def test_cls_and_last_find_the_real_tokens_on_either_padding_side():
    import torch

    from xharness.adapters.hf import pool

    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    right = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    left = torch.tensor([[0, 1, 1, 1], [0, 0, 1, 1]])
    for mask, first, last in ((right, [0, 0], [2, 1]), (left, [1, 2], [3, 3])):
        np.testing.assert_array_equal(pool(hidden, mask, "cls").numpy(), hidden[[0, 1], first].numpy())
        np.testing.assert_array_equal(pool(hidden, mask, "last").numpy(), hidden[[0, 1], last].numpy())
        means = [hidden[i][mask[i].bool()].mean(0).numpy() for i in range(2)]
        np.testing.assert_allclose(pool(hidden, mask, "mean").numpy(), np.stack(means))


def test_a_layer_alone_means_mean_pooling_and_the_fingerprint_follows_the_features(tiny_dual_encoder):
    folder = tiny_dual_encoder("clip")
    projected = load_adapter(folder)
    layer1 = load_adapter(folder, options=AdapterOptions(layer=1))
    assert (layer1.options["features"], layer1.options["pooling"], layer1.options["layer"]) == ("hidden", "mean", 1)
    prints = {
        projected.fingerprint,
        layer1.fingerprint,
        load_adapter(folder, options=AdapterOptions(pooling="mean")).fingerprint,
        load_adapter(folder, options=AdapterOptions(pooling="last")).fingerprint,
        load_adapter(folder, options=AdapterOptions(max_length=32)).fingerprint,
    }
    assert len(prints) == 5
    assert load_adapter(folder).fingerprint == projected.fingerprint
    # -1 and the top layer are one layer; with_layer gives what loading with that layer gives.
    assert load_adapter(folder, options=AdapterOptions(pooling="mean", layer=-1)).fingerprint == load_adapter(folder, options=AdapterOptions(pooling="mean", layer=2)).fingerprint
    assert projected.with_layer(1).fingerprint == layer1.fingerprint
    assert projected.with_layer(1).options == layer1.options


def test_options_that_cannot_apply_are_refused_in_one_line(tiny_dual_encoder):
    clip, siglip = tiny_dual_encoder("clip"), tiny_dual_encoder("siglip")
    cases = [
        (clip, {"pooling": "cls"}, "cls pooling does not suit CLIP's text tower: it reads left to right"),
        (clip, {"max_length": 78}, "max length 78 exceeds tiny-clip's 77 text positions"),
        (siglip, {"max_length": 65}, "exceeds tiny-siglip's 64 text positions"),
        (clip, {"layer": 3}, "layer 3 is out of range: tiny-clip's text tower has 2 layers"),
        (clip, {"pooling": "first"}, "unknown pooling 'first'"),
        (clip, {"dtype": "fp16"}, "dtype fp16 needs a GPU"),
    ]
    for folder, options, message in cases:
        with pytest.raises(XharnessError) as info:
            load_adapter(folder, options=AdapterOptions(**options))
        assert message in str(info.value) and "\n" not in str(info.value), options


def test_shorter_max_length_truncates_and_is_counted(tiny_dual_encoder):
    enc = load_adapter(tiny_dual_encoder("siglip"), options=AdapterOptions(max_length=8))
    assert enc.options["max_length"] == 8
    vectors = enc.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 32)
    assert enc.stats()["truncated"] == 3  # the German, the Chinese and the long text run past 8 tokens
    assert enc.encode([]).shape == (0, 32)


def test_missing_text_weights_are_refused_missing_vision_weights_are_not(tiny_dual_encoder, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    for model_type, dropped, refused in (("clip", "text_projection", True), ("chinese_clip", "text_model.encoder", True),
                                         ("chinese_clip", "vision_model", False)):
        folder = tmp_path / f"{model_type}-without-{dropped}"
        shutil.copytree(tiny_dual_encoder(model_type), folder)
        weights = load_file(folder / "model.safetensors")
        save_file({k: v for k, v in weights.items() if not k.startswith(dropped)}, folder / "model.safetensors")
        if refused:
            with pytest.raises(XharnessError, match=f"text-tower tensors are missing \\(e.g. {dropped}"):
                load_adapter(folder)
        else:  # a pair saved without its vision tower embeds text exactly as the whole pair does
            whole = load_adapter(tiny_dual_encoder(model_type)).encode(TEXTS)
            np.testing.assert_allclose(load_adapter(folder).encode(TEXTS), whole, atol=1e-6)


# ---- sentence-transformers folders -----------------------------------------------------------


def test_sentence_transformers_clip_module_matches_its_own_encode(tiny_clip_st_dir, tiny_dual_encoder):
    from sentence_transformers import SentenceTransformer

    enc = load_adapter(tiny_clip_st_dir)
    assert enc.kind == "sentence-transformers" and enc.options["max_length"] == 77
    expected = SentenceTransformer(str(tiny_clip_st_dir), device="cpu").encode(TEXTS[:4], convert_to_numpy=True)
    np.testing.assert_allclose(enc.encode(TEXTS[:4]), expected, atol=1e-6)
    # The same CLIP's text tower through our own adapter gives the same features.
    np.testing.assert_allclose(load_adapter(tiny_dual_encoder("clip")).encode(TEXTS[:4]), expected, atol=1e-5)
    with pytest.raises(XharnessError, match="max length 100 exceeds tiny-clip-st's 77 positions"):
        load_adapter(tiny_clip_st_dir, options=AdapterOptions(max_length=100))
    assert load_adapter(tiny_clip_st_dir, adapter="transformers").kind == "text-tower"


def test_multilingual_clip_distilled_into_sentence_transformers(tiny_mclip_st_dir):
    from sentence_transformers import SentenceTransformer

    enc = load_adapter(tiny_mclip_st_dir)
    assert enc.kind == "sentence-transformers"
    expected = SentenceTransformer(str(tiny_mclip_st_dir), device="cpu").encode(TEXTS, convert_to_numpy=True)
    got = enc.encode(TEXTS)
    assert got.shape == (len(TEXTS), 16)  # the Dense maps the text encoder into CLIP's 16-wide space
    np.testing.assert_allclose(got, expected, atol=1e-6)


# ---- end to end through the command line -----------------------------------------------------

EN = ["The cat sleeps on the sofa.", "I bought three red apples.", "Where is the train station?", "We will go home tomorrow."]
DE = ["Die Katze schläft auf dem Sofa.", "Ich kaufte drei rote Äpfel.", "Wo ist der Bahnhof?", "Morgen gehen wir nach Hause."]


@pytest.fixture(scope="module")
def task_data(tmp_path_factory):
    """Tatoeba (de), BUCC 2018 (de, small) and PAWS-X (en train/dev, de test) under one --data-dir."""
    if not SHARED_TATOEBA.is_dir():  # BUCC's fixture is built from the shared Tatoeba files
        pytest.skip("shared Tatoeba data not present")
    root = tmp_path_factory.mktemp("data")
    tatoeba = root / "tatoeba" / "v1"
    tatoeba.mkdir(parents=True)
    (tatoeba / "tatoeba.deu-eng.deu").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (tatoeba / "tatoeba.deu-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    build_from_tatoeba(root / "bucc2018", "de", n_parallel=12, n_distractors=12)
    pawsx = root / "pawsx"
    pawsx.mkdir()
    pairs = [(EN[i], EN[j], int(i == j)) for i in range(4) for j in range(4)]
    de_pairs = [(DE[i], DE[j], int(i == j)) for i in range(4) for j in range(4)]
    for name, rows in (("train-en", pairs), ("dev-en", pairs[::2]), ("test-de", de_pairs)):
        (pawsx / f"{name}.tsv").write_text("".join(f"{a}\t{b}\t{label}\n" for a, b, label in rows), encoding="utf-8")
    return root


TASKS = ["tatoeba", "bucc2018", "pawsx"]


# The families (MetaCLIP 2 and VisionTextDualEncoder share CLIP's code path and are checked above).
@pytest.mark.parametrize("model_type", FAMILY_TYPES[:5] + ["clip-st", "mclip-st"])
def test_every_task_runs_end_to_end_on_every_family(tiny_dual_encoder, tiny_clip_st_dir, tiny_mclip_st_dir, task_data, tmp_path, model_type):
    folder = {"clip-st": tiny_clip_st_dir, "mclip-st": tiny_mclip_st_dir}.get(model_type) or tiny_dual_encoder(model_type)
    out = tmp_path / "results"
    args = ["eval", str(folder), "-l", "de", "--data-dir", str(task_data), "-o", str(out), "--seeds", "2"]
    for task in TASKS:
        args += ["-t", task]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for task in TASKS:
        data = json.loads((out / folder.name / f"{task}.json").read_text())
        assert set(data["scores"]) == {"de"}, task
        if model_type.endswith("-st"):
            assert data["model"]["adapter"] == "sentence-transformers"
        else:
            assert data["model"]["adapter"] == "text-tower"
            assert data["model"]["options"]["features"] == "projected"
            assert data["model"]["options"]["max_length"] == MAX_LENGTH[model_type]


def test_cli_pooled_layer_run_says_which_features_were_used(tiny_dual_encoder, task_data, tmp_path):
    folder, out = tiny_dual_encoder("altclip"), tmp_path / "results"
    base = ["eval", str(folder), "-t", "tatoeba", "-l", "de", "--data-dir", str(task_data), "-o", str(out)]
    assert CliRunner().invoke(main, base).exit_code == 0
    projected = json.loads((out / "tiny-altclip" / "tatoeba.json").read_text())["model"]
    result = CliRunner().invoke(main, base + ["--pooling", "cls", "--layer", "1", "--overwrite"])
    assert result.exit_code == 0, result.output
    pooled = json.loads((out / "tiny-altclip" / "tatoeba.json").read_text())["model"]
    assert pooled["options"]["features"] == "hidden"
    assert (pooled["options"]["pooling"], pooled["options"]["layer"]) == ("cls", 1)
    assert pooled["fingerprint"] != projected["fingerprint"]
    # The layer sweep pools every hidden layer of the text tower (mean pooling) from one forward pass.
    swept = CliRunner().invoke(main, base + ["--layer", "all", "--overwrite"])
    assert swept.exit_code == 0, swept.output
    model = json.loads((out / "tiny-altclip" / "tatoeba.json").read_text())["model"]
    assert model["layer_sweep"] == [0, 1, 2]
    assert (model["options"]["features"], model["options"]["pooling"], model["options"]["layer"]) == ("hidden", "mean", 2)
    refused = CliRunner().invoke(main, ["eval", str(tiny_dual_encoder("clip")), "-l", "de", "--data-dir", str(task_data),
                                        "-o", str(tmp_path / "r"), "--pooling", "cls"])
    assert refused.exit_code == 2 and "cls pooling does not suit CLIP's text tower" in refused.output
    assert "Traceback" not in refused.output
