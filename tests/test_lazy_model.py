"""A fully cached re-run neither loads the model nor imports torch; a miss loads it on demand."""

import json
import os
import subprocess
import sys

import pytest

EN = ["The cat sleeps on the sofa.", "I bought three red apples.", "Where is the train station?"]
DE = ["Die Katze schläft auf dem Sofa.", "Ich kaufte drei rote Äpfel.", "Wo ist der Bahnhof?"]

RUN = """
import json, sys
from xharness.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps({"torch_imported": "torch" in sys.modules}), file=sys.stderr)
"""


def run_cli(args, env):
    proc = subprocess.run([sys.executable, "-c", RUN, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_cached_rerun_does_not_load_the_model(tiny_bert_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "tatoeba.deu-eng.deu").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (data / "tatoeba.deu-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    env = {**os.environ, "XHARNESS_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    args = ["eval", tiny_bert_dir, "--data-dir", data, "-l", "de", "-o", tmp_path / "r", "--name", "tiny", "--overwrite"]
    cold = run_cli(args, env)
    first = json.loads((tmp_path / "r" / "tiny" / "tatoeba.json").read_text())
    warm = run_cli(args, env)
    second = json.loads((tmp_path / "r" / "tiny" / "tatoeba.json").read_text())
    assert cold["torch_imported"] and not warm["torch_imported"]
    assert second["run"]["model_loaded"] is False and second["run"]["encoded"] == 0
    assert first["run"]["truncated"] == 0 and second["run"]["truncated"] == 0  # nothing encoded, nothing cut
    assert second["scores"] == first["scores"]
    assert second["model"]["fingerprint"] == first["model"]["fingerprint"]
    assert second["model"]["options"] == first["model"]["options"]
    # A new sentence is a miss: the model loads on demand and the fingerprint still agrees.
    (data / "tatoeba.deu-eng.deu").write_text("\n".join(DE + ["Es regnet."]) + "\n", encoding="utf-8")
    (data / "tatoeba.deu-eng.eng").write_text("\n".join(EN + ["It rains."]) + "\n", encoding="utf-8")
    miss = run_cli(args, env)
    third = json.loads((tmp_path / "r" / "tiny" / "tatoeba.json").read_text())
    assert miss["torch_imported"] and third["run"]["model_loaded"] is True and third["run"]["encoded"] == 2


# ---- in process: the kept description's key, the name, a stale description, truncation -----


def _tatoeba_dir(tmp_path):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "tatoeba.deu-eng.deu").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (data / "tatoeba.deu-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    return data


def test_a_copied_folder_is_named_by_this_invocation_not_the_kept_description(tiny_bert_dir, tmp_path, monkeypatch):
    import shutil

    from xharness.lazy import LazyAdapter
    from xharness.runner import EvalRequest, RunOptions, _adapter_for

    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    first = shutil.copytree(tiny_bert_dir, tmp_path / "first")
    second = shutil.copytree(tiny_bert_dir, tmp_path / "second")
    assert _adapter_for(EvalRequest(model=str(first))).name == "first"
    again = _adapter_for(EvalRequest(model=str(first)))
    assert isinstance(again, LazyAdapter) and again.name == "first"
    # Same weights elsewhere: described afresh (keyed by path and content), named after its own folder.
    other = _adapter_for(EvalRequest(model=str(second)))
    assert other.name == "second" and other.fingerprint == again.fingerprint


def test_a_stale_description_is_one_line_and_is_dropped(tiny_bert_dir, tmp_path, monkeypatch):
    import shutil

    from xharness.errors import XharnessError
    from xharness.lazy import LazyAdapter, description_key, recall
    from xharness.runner import EvalRequest, RunOptions, _adapter_for

    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    folder = shutil.copytree(tiny_bert_dir, tmp_path / "ckpt")
    request = EvalRequest(model=str(folder))
    _adapter_for(request)
    key = description_key(str(folder), adapter="auto", options=request.adapter_options)
    kept = recall(key)
    lazy = LazyAdapter({**kept, "fingerprint": "0" * 64}, lambda: _adapter_for(EvalRequest(model=str(folder), run=RunOptions(cache=False))), name="ckpt", key=key)
    with pytest.raises(XharnessError, match="changed while this run used its kept description"):
        lazy.encode(EN)
    assert recall(key) is None  # the next run describes the model afresh


def test_texts_cut_at_max_length_are_counted_in_the_result(tiny_bert_dir, tiny_st_dir, tmp_path):
    from xharness.adapters.options import AdapterOptions
    from xharness.runner import EvalRequest, RunOptions, run_eval

    data = _tatoeba_dir(tmp_path)
    common = dict(model=str(tiny_bert_dir), data_dir=data, languages=("de",))
    run = dict(cache=False, overwrite=True)
    cut = run_eval(EvalRequest(**common, adapter_options=AdapterOptions(max_length=3), run=RunOptions(out_dir=tmp_path / "short", **run))).results[0]
    whole = run_eval(EvalRequest(**common, run=RunOptions(out_dir=tmp_path / "long", **run))).results[0]
    assert cut.run["truncated"] == len(set(EN + DE)) and cut.run["encoded"] == len(set(EN + DE))
    assert whole.run["truncated"] == 0
    # sentence-transformers cuts inside its own encode and does not say how often: not counted.
    st = run_eval(EvalRequest(**{**common, "model": str(tiny_st_dir)}, run=RunOptions(out_dir=tmp_path / "st", **run))).results[0]
    assert st.run["truncated"] is None


def test_a_lazy_load_is_timed_as_load_model_not_encode(tmp_path):
    """`timing.load_model` includes the load that happens inside the first encode; `encode` leaves it out."""
    import time

    from fakes import CharNgramAdapter
    from xharness.lazy import LazyAdapter
    from xharness.runner import EvalRequest, RunOptions, run_eval

    real = CharNgramAdapter(32, name="slow")

    def slow_load():
        time.sleep(0.3)
        return real

    lazy = LazyAdapter({"kind": "fake", "fingerprint": real.fingerprint, "options": real.options}, slow_load, name="slow")
    request = EvalRequest(model="slow", data_dir=_tatoeba_dir(tmp_path), languages=("de",), run=RunOptions(out_dir=tmp_path / "r", cache=False))
    result = run_eval(request, adapter=lazy).results[0]
    assert result.timing["load_model"] >= 0.3 and result.timing["encode"] < 0.3
    assert result.run["model_loaded"] is True
