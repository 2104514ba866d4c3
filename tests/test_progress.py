"""Progress where nobody watches a terminal: timestamped lines (or JSON) at a steady interval, per language."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from xharness.progress import ProgressLog

# A run of `eval` in a child process with a slow fake model, stderr captured (a pipe, not a terminal).
CHILD = r"""
import sys, time
sys.path.insert(0, {tests!r})
from fakes import CharNgramAdapter
import xharness.runner as runner
from xharness.cli import main

class Slow(CharNgramAdapter):
    def encode(self, texts, *, batch_size=32):
        time.sleep(0.02 * len(texts))
        return super().encode(texts, batch_size=batch_size)

real_run = runner.run_eval
runner.run_eval = lambda request, **kw: real_run(request, adapter=Slow(32, name="slow"), **kw)
main(sys.argv[1:])
"""


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for code in ("deu", "fra"):
        (data / f"tatoeba.{code}-eng.{code}").write_text("".join(f"{code} satz {i} hier\n" for i in range(20)), encoding="utf-8")
        (data / f"tatoeba.{code}-eng.eng").write_text("".join(f"english line {i} now\n" for i in range(20)), encoding="utf-8")
    return data


def _run(tmp_path, *extra):
    env = {**os.environ, "XHARNESS_PROGRESS_INTERVAL": "0.2", "XHARNESS_CACHE": str(tmp_path / "cache")}
    args = ["eval", "slow", "--data-dir", str(_data(tmp_path)), "-l", "de", "-l", "fr", "-o", str(tmp_path / "r"),
            "--batch-size", "4", "--no-cache", *extra]
    code = CHILD.format(tests=str(Path(__file__).parent))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)


def test_progress_lines_in_a_log(tmp_path):
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    assert all(re.match(stamp, line) for line in lines), lines
    de = [line for line in lines if "encoding tatoeba de:" in line]
    # a start line, lines while it encodes (0.8 s at 0.2 s intervals), and an end line: one phase per language
    assert len(de) >= 3 and de[-1].endswith("done") and "40/40 sentences (100%)" in de[-1]
    assert any("encoding tatoeba fr:" in line for line in lines)
    assert any(re.search(r"tatoeba de: \d+\.\d\d \(n=20", line) for line in lines)
    assert "\r" not in proc.stderr


def test_json_lines_and_quiet(tmp_path):
    proc = _run(tmp_path, "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    assert {"encoding_start", "encoding_end", "language_done", "message"} <= {e["event"] for e in events}
    end = next(e for e in events if e["event"] == "encoding_end" and e["phase"] == "encoding tatoeba de")
    assert end["done"] == end["total"] == 40 and "time" in end
    quiet = _run(tmp_path, "--quiet", "--overwrite")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_terminal_bar_names_the_language_and_continues_across_calls():
    stream = io.StringIO()
    log = ProgressLog("bar", stream=stream)
    for total in (3, 2):  # English then German side of one language: one bar
        handle = log.progress("tatoeba de", total)
        handle.advance(total)
        handle.close()
    log.close()
    text = stream.getvalue()
    assert "encoding tatoeba de (5 sentences)" in text and "100%" in text and text.count("\n") == 1


def test_search_phase_lines_with_queries_per_second_and_time_left(tmp_path):
    """A Mewsli-X run reports its search as a phase of its own in a log: queries, queries/s, time left."""
    from fakes import CharNgramAdapter
    from retrieval_fixtures import write_mewslix
    from xharness.embedding import Embedder
    from xharness.tasks.mewslix import MewsliX

    stream = io.StringIO()
    log = ProgressLog("text", stream=stream, interval=0.05)
    root = write_mewslix(tmp_path, entities=40, mentions=6)
    embed = Embedder(CharNgramAdapter(), progress=log.progress, search=log.search, label="mewslix")
    MewsliX(root).run(embed, model={"name": "char"}, languages=["de"])
    handle = log.search("lareqa en", 100)  # a search still running: the rate gives the time left
    handle.advance(40)
    time.sleep(0.2)
    handle.close()
    log.close()
    lines = stream.getvalue().splitlines()
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines), lines
    search = [line for line in lines if " search mewslix de: " in line]
    assert search and re.search(r"search mewslix de: (\d+)/\1 queries \(100%\), \d+ queries/s done$", search[-1]), search
    assert any(" encoding mewslix de: " in line for line in lines)
    running = [line for line in lines if " search lareqa en: 40/100 queries (40%)" in line]
    assert len(running) >= 2 and re.search(r"queries/s, \d+s left$", running[-2]), lines
    assert running[-1].endswith("queries/s done")  # the log's end closes the phase: no time left shown


def test_bucc_mining_reports_a_search_phase_in_a_log(tmp_path):
    """BUCC's two-way searches (dev and test, after both are encoded) are one `search bucc2018 de` phase."""
    from bucc_fixture import build_made_up
    from fakes import CharNgramAdapter
    from xharness.embedding import Embedder
    from xharness.tasks.bucc import Bucc2018

    stream = io.StringIO()
    log = ProgressLog("text", stream=stream, interval=0.05)
    embed = Embedder(CharNgramAdapter(), progress=log.progress, search=log.search, label="bucc2018")
    Bucc2018(build_made_up(tmp_path)).run(embed, model={"name": "char"}, languages=["de"])
    log.close()
    lines = stream.getvalue().splitlines()
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines), lines
    phases = [line.split(": ")[0].split(" ", 1)[1] for line in lines]
    assert phases[0] == "encoding bucc2018 de" and phases[-1] == "search bucc2018 de", lines  # encoded first, then searched
    # each split: 16 distinct German lines (one repeats) and 16 English, forward and backward: 64 queries in all
    assert re.search(r"search bucc2018 de: 0/64 queries \(0%\)", lines[phases.index("search bucc2018 de")]), lines
    assert re.search(r"search bucc2018 de: 64/64 queries \(100%\), \d+ queries/s done$", lines[-1]), lines


def test_two_way_search_progress_adds_up_to_both_directions():
    """Exact blocked pass and FAISS alike: n sources forward plus m targets backward, in steps."""
    from xharness.tasks.knn import blocked_two_way_knn, l2_normalize, two_way_knn

    rng = np.random.default_rng(0)
    x, y = l2_normalize(rng.standard_normal((10, 8))), l2_normalize(rng.standard_normal((7, 8)))
    steps: list[int] = []
    exact = blocked_two_way_knn(x, y, k=3, block_size=3, progress=steps.append)
    assert sum(steps) == 17 and len(steps) == 4 and all(s > 0 for s in steps)  # one step per row block
    steps.clear()
    approximate = two_way_knn(x, y, k=3, index="hnsw", progress=steps.append)
    assert steps == [10, 7] and approximate.fwd_I.shape == exact.fwd_I.shape
