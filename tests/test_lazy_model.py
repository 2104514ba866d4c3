"""A fully cached re-run neither loads the model nor imports torch; a miss loads it on demand."""

import json
import os
import subprocess
import sys

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
    assert second["scores"] == first["scores"]
    assert second["model"]["fingerprint"] == first["model"]["fingerprint"]
    assert second["model"]["options"] == first["model"]["options"]
    # A new sentence is a miss: the model loads on demand and the fingerprint still agrees.
    (data / "tatoeba.deu-eng.deu").write_text("\n".join(DE + ["Es regnet."]) + "\n", encoding="utf-8")
    (data / "tatoeba.deu-eng.eng").write_text("\n".join(EN + ["It rains."]) + "\n", encoding="utf-8")
    miss = run_cli(args, env)
    third = json.loads((tmp_path / "r" / "tiny" / "tatoeba.json").read_text())
    assert miss["torch_imported"] and third["run"]["model_loaded"] is True and third["run"]["encoded"] == 2
