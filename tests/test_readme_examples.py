"""The README's "Adding a task" and "Adding an adapter" examples, run as a user would install them.

The two code blocks become a package on a temporary path with an installed-style dist-info that
declares them under the `xharness.tasks` and `xharness.adapters` entry-point groups; the real
command line (`python -m xharness`) then lists, runs, refuses and compares them.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
PAIRS = {
    "de": [("The dog sleeps.", "Der Hund schläft."), ("We eat bread.", "Wir essen Brot."), ("The sun is hot.", "Die Sonne ist heiß."),
           ("My sister reads.", "Meine Schwester liest."), ("Close the door.", "Schließ die Tür.")],
    "fr": [("The dog sleeps.", "Le chien dort."), ("We eat bread.", "Nous mangeons du pain."), ("The sun is hot.", "Le soleil est chaud."),
           ("My sister reads.", "Ma sœur lit."), ("Close the door.", "Ferme la porte.")],
}


def readme_block(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    package = root / "readme_examples"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "pairs.py").write_text(readme_block("Adding a task"), encoding="utf-8")
    (package / "bow.py").write_text(readme_block("Adding an adapter"), encoding="utf-8")
    dist = root / "readme_examples-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: readme-examples\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[xharness.tasks]\npairs = readme_examples.pairs:Pairs\n\n[xharness.adapters]\nbow = readme_examples.bow:load\n", encoding="utf-8"
    )
    data = root / "data"
    data.mkdir()
    for lang, rows in PAIRS.items():
        (data / f"{lang}.tsv").write_text("".join(f"{en}\t{xx}\n" for en, xx in rows), encoding="utf-8")
    return root


def xh(installed: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(installed), "XHARNESS_CACHE": str(installed / "cache")}
    return subprocess.run([sys.executable, "-m", "xharness", *args], capture_output=True, text=True, env=env, timeout=300)


def test_the_readme_task_and_adapter_run_end_to_end(installed):
    listed = xh(installed, "tasks")
    assert listed.returncode == 0, listed.stderr
    assert "pairs  (main score: accuracy" in listed.stdout and "option --direction en2xx|xx2en" in listed.stdout
    assert "bow:" in xh(installed, "adapters").stdout

    out = installed / "results"
    common = ["-t", "pairs", "--data-dir", str(installed / "data"), "-l", "all", "-o", str(out)]
    first = xh(installed, "eval", "bow", *common, "--direction", "xx2en", "--max-length", "64")
    assert first.returncode == 0, first.stderr
    result = json.loads((out / "bow" / "pairs.json").read_text(encoding="utf-8"))
    assert result["config"] == {"limit": None, "direction": "xx2en"}
    assert set(result["scores"]) == {"de", "fr"} and all(s["n"] == 5 for s in result["scores"].values())
    items = json.loads((out / "bow" / "pairs.items.json").read_text(encoding="utf-8"))["languages"]
    for lang, score in result["scores"].items():
        assert score["main_score"] == pytest.approx(100.0 * sum(items[lang]["correct"]) / 5)

    refused = xh(installed, "eval", "bow", *common, "--pooling", "mean", "--name", "other")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and "does not take --pooling" in refused.stderr
    wrong = xh(installed, "eval", "bow", *common, "--direction", "sideways", "--name", "other")
    assert wrong.returncode == 2 and "sideways" in wrong.stderr

    second = xh(installed, "eval", "bow", *common, "--direction", "xx2en", "--max-length", "2", "--name", "bow-short")
    assert second.returncode == 0, second.stderr
    compared = xh(installed, "compare", str(out / "bow"), str(out / "bow-short"))
    assert compared.returncode == 0, compared.stderr
    assert "pairs" in compared.stdout and "[" in compared.stdout  # a paired bootstrap interval, from item_record
