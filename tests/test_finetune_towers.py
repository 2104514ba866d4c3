"""`--finetune` beyond BERT: CLIP-family text towers (vision weights not loaded), sentence-transformers
folders, encoder-only mT5 refused; and the embedding model described from files, never loaded, for training.

Training tests are slow; building models and describing folders is fast.
"""

import json
import shutil

import pytest

from test_finetune import FILLERS, _finetune, _rows, _write, marker_data, one_thread  # noqa: F401  (fixtures)
from xharness.adapters.options import AdapterOptions
from xharness.adapters.resolve import describe_adapter, load_adapter
from xharness.errors import XharnessError
from xharness.tasks.base import ModelSource
from xharness.tasks.finetune import model_folder
from xharness.tasks.finetune_models import build_classifier

pytest.importorskip("accelerate")

CPU = AdapterOptions(device="cpu")


def _described_equals_loaded(folder, adapter="auto", options=CPU):
    described = describe_adapter(str(folder), adapter=adapter, options=options)
    loaded = load_adapter(str(folder), adapter=adapter, options=options)
    assert described == {"name": loaded.name, "kind": loaded.kind, "fingerprint": loaded.fingerprint, "options": dict(loaded.options)}
    return described


# -- the embedding model is described from its files (same fingerprint), not loaded ---------------


def test_description_from_files_is_the_loaded_adapters(tiny_bert_dir, tiny_st_dir, tiny_dual_encoder):
    assert _described_equals_loaded(tiny_bert_dir)["kind"] == "transformers"
    assert _described_equals_loaded(tiny_bert_dir, options=AdapterOptions(device="cpu", pooling="cls", layer=1, max_length=20))
    assert _described_equals_loaded(tiny_st_dir)["kind"] == "sentence-transformers"
    assert _described_equals_loaded(tiny_st_dir, adapter="transformers")["kind"] == "transformers"
    assert _described_equals_loaded(tiny_dual_encoder("clip"))["kind"] == "text-tower"
    assert _described_equals_loaded(tiny_dual_encoder("siglip"))["kind"] == "text-tower"


def test_description_of_a_sentence_transformers_folder_without_its_own_max_length(tiny_st_dir, tmp_path):
    folder = tmp_path / "st"
    shutil.copytree(tiny_st_dir, folder)
    config = folder / "sentence_bert_config.json"
    config.write_text(json.dumps({k: v for k, v in json.loads(config.read_text()).items() if k != "max_seq_length"}))
    assert _described_equals_loaded(folder)["options"]["max_length"] is not None


def test_a_layout_the_files_do_not_describe_is_loaded_instead(tiny_clip_st_dir):
    assert describe_adapter(str(tiny_clip_st_dir), options=CPU) is None  # a CLIP module, not a Transformer
    assert describe_adapter("usem3") is None  # plugins load


def test_fine_tuning_never_loads_the_embedding_model(tiny_bert_dir, monkeypatch, tmp_path):
    """The runner hands the task a described model: nothing loads it unless a text is embedded."""
    from xharness import runner

    loads = []
    monkeypatch.setattr("xharness.adapters.load_adapter", lambda *a, **k: loads.append(a))
    request = runner.EvalRequest(model=str(tiny_bert_dir), adapter_options=CPU, run=runner.RunOptions(cache=False))
    adapter = runner._adapter_for(request, trains=True)
    assert not adapter.loaded and not loads
    assert adapter.fingerprint == load_adapter(str(tiny_bert_dir), options=CPU).fingerprint


# -- which checkpoints fine-tune ----------------------------------------------------------------


def test_clip_text_tower_is_built_without_vision_weights(tiny_dual_encoder):
    import torch

    from transformers import CLIPModel

    folder = tiny_dual_encoder("clip")
    torch.manual_seed(0)
    built = build_classifier(folder, ["no", "yes"], max_length=128)
    names = [name for name, _ in built.model.named_parameters()]
    assert built.kind == "text-tower" and built.max_length == 77  # capped at CLIP's 77 positions
    assert not any("vision" in n or "visual" in n for n in names)
    assert type(built.model.tower).__name__ == "CLIPTextModelWithProjection"
    full = CLIPModel.from_pretrained(str(folder))
    text_side = sum(p.numel() for n, p in full.named_parameters() if n.startswith(("text_model.", "text_projection.")))
    head = sum(p.numel() for p in built.model.classifier.parameters())
    assert sum(p.numel() for p in built.model.parameters()) == text_side + head < sum(p.numel() for p in full.parameters())
    # The tower starts from the checkpoint's text weights.
    assert torch.equal(built.model.tower.text_projection.weight, full.text_projection.weight)


def test_clip_pools_a_pair_at_its_last_end_token_and_one_text_as_the_model_does(tiny_dual_encoder):
    import torch

    built = build_classifier(tiny_dual_encoder("clip"), ["no", "yes"], max_length=128)
    tok, model = built.tokenizer, built.model.eval()
    single = tok(["a cat sat", "the dog ran in the park"], padding=True, return_tensors="pt")
    pair = tok(["a cat sat"], ["the dog ran"], return_tensors="pt")
    with torch.no_grad():
        ours = model.features(single["input_ids"], single["attention_mask"])
        theirs = model.tower(input_ids=single["input_ids"], attention_mask=single["attention_mask"]).text_embeds
        assert torch.allclose(ours, theirs, atol=1e-6)  # one text: the model's own text features
        eos = tok.eos_token_id
        assert (pair["input_ids"][0] == eos).sum() >= 2  # the first end token closes the first text only
        changed = tok(["a cat sat"], ["a bird flew"], return_tensors="pt")
        a = model.features(pair["input_ids"], pair["attention_mask"])
        b = model.features(changed["input_ids"], changed["attention_mask"])
        assert not torch.allclose(a, b)  # the second text reaches the pooled token


def test_siglip_text_tower_pads_to_its_full_length(tiny_dual_encoder):
    built = build_classifier(tiny_dual_encoder("siglip"), ["a", "b"], max_length=128)
    assert built.fixed_padding and built.max_length == 64 and type(built.model.tower).__name__ == "SiglipTextModel"


def test_text_towers_and_sentence_transformers_folders_are_accepted(tiny_dual_encoder, tiny_clip_st_dir, tiny_st_dir):
    clip = tiny_dual_encoder("clip")
    assert model_folder(ModelSource(kind="text-tower", folder=clip, fingerprint="x")) == clip
    assert model_folder(ModelSource(kind="sentence-transformers", folder=tiny_clip_st_dir, fingerprint="x")) == tiny_clip_st_dir
    # --adapter transformers on a sentence-transformers folder: still its Transformer module.
    assert (model_folder(ModelSource(kind="transformers", folder=tiny_st_dir, fingerprint="x")) / "config.json").is_file()


@pytest.mark.parametrize("model_type", ["chinese_clip", "vision-text-dual-encoder"])
def test_towers_that_need_their_vision_side_to_load_are_refused_in_one_line(model_type, tiny_dual_encoder):
    with pytest.raises(XharnessError, match="--finetune cannot load") as info:
        model_folder(ModelSource(kind="text-tower", folder=tiny_dual_encoder(model_type), fingerprint="x"))
    assert "\n" not in str(info.value)


def test_usem3_plugin_is_refused_in_one_line_on_the_command_line(marker_data, tmp_path):
    from click.testing import CliRunner

    from xharness.adapters.resolve import _plugins
    from xharness.cli import main

    if "usem3" not in _plugins():
        pytest.skip("the usem3 plugin is not installed")
    run = CliRunner().invoke(main, ["eval", "usem3", "-t", "classify", "--finetune", "--data-dir", str(marker_data),
                                    "-o", str(tmp_path), "--no-cache"])
    assert run.exit_code == 2 and "'usem3' models cannot be fine-tuned" in run.output
    assert len(run.output.strip().splitlines()) == 1


def test_encoder_only_mt5_is_refused_in_one_line(tiny_xlmr_dir, tmp_path):
    """An mT5 encoder saved alone: MT5ForSequenceClassification would train a random decoder."""
    import torch
    from transformers import MT5Config, MT5EncoderModel

    folder = tmp_path / "mt5-encoder"
    shutil.copytree(tiny_xlmr_dir, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    (folder / "config.json").unlink()
    torch.manual_seed(0)
    config = MT5Config(vocab_size=400, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2, decoder_start_token_id=0)
    MT5EncoderModel(config).save_pretrained(folder, safe_serialization=True)
    with pytest.raises(XharnessError, match="random") as info:
        build_classifier(folder, ["a", "b"], max_length=32)
    assert "\n" not in str(info.value) and "decoder" in str(info.value)


# -- training (slow) ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tower_marker_data(tmp_path_factory):
    """The marker set for the tiny CLIP: its 300-token BPE spells 'cat' in letters that filler words
    share (c, a, t), so the marker is 'jyx', letters no filler has, and 96 English training rows."""
    folder = tmp_path_factory.mktemp("tower-marker")
    _write(folder / "train-en.tsv", _rows(96, "en", 0, marker="jyx"))
    _write(folder / "dev-en.tsv", _rows(12, "en", 1, marker="jyx"))
    for k, lang in enumerate(FILLERS):
        _write(folder / f"test-{lang}.tsv", _rows(16, lang, 2 + k, marker="jyx"))
    return folder



@pytest.mark.slow  # trains a tiny CLIP text tower (~10 s on a shared CPU)
def test_fine_tuned_clip_text_tower_learns_the_marker(tiny_dual_encoder, tower_marker_data, tmp_path, one_thread):
    from xharness.results import TaskResult

    outcome = _finetune(tiny_dual_encoder("clip"), tower_marker_data, tmp_path, seeds=1, save_finetuned=str(tmp_path / "saved"))
    result = TaskResult.from_disk(outcome.paths[0])
    assert result.model["adapter"] == "text-tower"
    scores = [score.main_score for score in result.scores.values()]
    print("tiny CLIP tower, fine-tuned:", scores)
    assert min(scores) >= 80 and sum(scores) / len(scores) >= 90, scores  # chance is 50
    protocol = result.task["protocol"]
    assert protocol["max_length"] == 77 and "vision weights not loaded" in protocol["model"]
    assert outcome.results[0].run["model_loaded"] is False  # described from files, never loaded to embed
    saved = tmp_path / "saved" / "seed-0"
    assert (saved / "model.safetensors").is_file() and (saved / "classification_head.safetensors").is_file()
    assert load_adapter(str(saved), options=CPU).encode(["a cat"]).shape[0] == 1  # loads as a text checkpoint


@pytest.mark.slow  # trains the tiny sentence-transformers folder's BERT
def test_sentence_transformers_folder_fine_tunes(tiny_st_dir, marker_data, tmp_path, one_thread):
    outcome = _finetune(tiny_st_dir, marker_data, tmp_path, seeds=1)
    result = outcome.results[0]
    assert result.model["adapter"] == "sentence-transformers"
    assert min(score.main_score for score in result.scores.values()) >= 90
