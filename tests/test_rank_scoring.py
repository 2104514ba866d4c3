"""Under a launcher only rank 0 searches and scores; the other ranks make the same embed calls in the same order.

Encoding is collective (every rank takes part in every embed call), so a rank that skips the
search must still make each call rank 0 makes. Checked per retrieval task in one process with
a recording embed posing as rank 1, then end to end with two gloo processes (slow).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bucc_fixture import build_made_up
from fakes import CharNgramAdapter
from retrieval_fixtures import write_lareqa, write_mewslix
from test_distributed import ROOT, _tatoeba, launch
from test_flores import build as build_flores
from xharness.distributed import World
from xharness.tasks import TASKS

MODEL = {"name": "char", "slug": "char", "adapter": "fake", "fingerprint": "char-ngrams-64"}


def cases(tmp_path: Path) -> list[tuple[str, Path, dict]]:
    """(task, data folder, options) for each retrieval task, written under `tmp_path`."""
    flores = tmp_path / "flores"
    build_flores(flores)  # xx-en with hard negatives: a second search after a second embed call
    return [
        ("tatoeba", _tatoeba(tmp_path / "tatoeba"), {}),
        ("bucc2018", build_made_up(tmp_path / "bucc"), {}),
        ("flores", flores, {}),
        ("flores", flores, {"direction": "nway"}),
        ("mewslix", write_mewslix(tmp_path / "mewslix", entities=40, mentions=6), {}),
        ("lareqa", write_lareqa(tmp_path / "lareqa"), {}),
    ]


class RecordingEmbed:
    """`embed(texts)` as a rank of `world` sees it (character n-grams), recording every call's texts."""

    def __init__(self, world: World) -> None:
        self.world, self.calls, self.adapter = world, [], CharNgramAdapter(64)

    def __call__(self, texts):
        self.calls.append(list(texts))
        return self.adapter.encode(list(texts))


@pytest.fixture
def searches(monkeypatch):
    """Counts of every search the retrieval tasks make (two-way kNN, FAISS, blocked top-k)."""
    import xharness.tasks.knn as knn
    import xharness.tasks.lareqa as lareqa
    import xharness.tasks.mewslix as mewslix

    counts: list[str] = []
    for module, name in ((knn, "blocked_two_way_knn"), (knn, "faiss_knn"), (mewslix, "blocked_topk"), (lareqa, "blocked_topk")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **kw: counts.append(_name) or _real(*a, **kw))
    return counts


@pytest.fixture
def broadcasts(monkeypatch):
    """rank 0's word to the others after each language, recorded (one process: nothing is sent)."""
    import xharness.distributed as distributed

    sent: list = []
    monkeypatch.setattr(distributed, "broadcast", lambda value: sent.append(value) or value)
    return sent


def test_a_rank_other_than_zero_embeds_as_rank_zero_does_and_never_searches(tmp_path, searches, broadcasts):
    for task_name, data, options in cases(tmp_path):
        seen = {}
        for rank in (0, 1):
            searches.clear()
            embed = RecordingEmbed(World(rank=rank, size=2))
            result = TASKS.get(task_name)(data, **options).run(embed, model=MODEL, languages=["all"])
            seen[rank] = (embed.calls, list(searches), result)
        label = f"{task_name} {options}"
        assert seen[1][0] == seen[0][0] and seen[0][0], label  # the same embed calls, in the same order
        assert seen[0][1] and not seen[1][1], label  # rank 0 searched; rank 1 did not
        assert all(np.isnan(score.main_score) for score in seen[1][2].scores.values()), label
        assert not any(np.isnan(score.main_score) for score in seen[0][2].scores.values()), label


def test_a_refusal_while_rank_zero_scores_reaches_every_rank(tmp_path, monkeypatch, broadcasts):
    import xharness.distributed as distributed
    import xharness.tasks.knn as knn
    from xharness.errors import XharnessError

    data = _tatoeba(tmp_path / "tatoeba")
    monkeypatch.setattr(knn, "blocked_two_way_knn", lambda *a, **kw: (_ for _ in ()).throw(XharnessError("margins undefined")))
    with pytest.raises(XharnessError, match="margins undefined") as raised:  # rank 0: raised, and sent to the others
        TASKS.get("tatoeba")(data).run(RecordingEmbed(World(rank=0, size=2)), model=MODEL)
    assert not getattr(raised.value, "told_by_main", False) and broadcasts == [raised.value]
    monkeypatch.setattr(distributed, "broadcast", lambda value: XharnessError("margins undefined") if value is None else value)
    embed = RecordingEmbed(World(rank=1, size=2))
    with pytest.raises(XharnessError, match="margins undefined") as raised:  # rank 1: stops with rank 0's word
        TASKS.get("tatoeba")(data).run(embed, model=MODEL)
    assert raised.value.told_by_main and len(embed.calls) == 2  # after both of the language's embed calls
    broadcasts.clear()
    failing = RecordingEmbed(World(rank=0, size=2))
    failing.adapter.encode = lambda texts: (_ for _ in ()).throw(XharnessError("all-zero vectors"))
    with pytest.raises(XharnessError, match="all-zero"):  # inside an embed call every rank raises alike: no word sent
        TASKS.get("tatoeba")(data).run(failing, model=MODEL)
    assert broadcasts == []


# ---- two processes under gloo: the result files equal one process's, and rank 1 never searched

WORKER = r"""
import json, sys
out, tests, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, tests)
from fakes import CharNgramAdapter
import xharness.tasks.knn as knn, xharness.tasks.lareqa as lareqa, xharness.tasks.mewslix as mewslix
from xharness.distributed import world
from xharness.runner import EvalRequest, RunOptions, run_eval

searches = []
for module, name in ((knn, "blocked_two_way_knn"), (knn, "faiss_knn"), (mewslix, "blocked_topk"), (lareqa, "blocked_topk")):
    real = getattr(module, name)
    setattr(module, name, lambda *a, _real=real, _name=name, **kw: searches.append(_name) or _real(*a, **kw))
for number, (task, data, options) in enumerate(cases):
    request = EvalRequest(model="char", tasks=(task,), languages=("all",), data_dir=data, name="char", task_options=options,
                          run=RunOptions(out_dir=f"{out}/{number}", cache=False))
    run_eval(request, adapter=CharNgramAdapter(64))
json.dump(searches, open(f"{out}/searches-{world().rank}.json", "w"))
"""


def _comparable(path: Path) -> dict:
    """A result file without what differs between runs by design: timings and the world's size."""
    result = json.loads(path.read_text(encoding="utf-8"))
    result.pop("timing")
    result["run"].pop("world_size", None)
    return result


@pytest.mark.slow  # two torch imports for gloo: about 5 s on a quiet machine
def test_two_gloo_ranks_write_the_single_process_files_and_only_rank_zero_searches(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    todo = json.dumps([[task, str(data), options] for task, data, options in cases(tmp_path / "data")])
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    one = subprocess.run([sys.executable, str(script), str(tmp_path / "one"), str(ROOT / "tests"), todo],
                         capture_output=True, text=True, env=env, timeout=120)
    assert one.returncode == 0, one.stderr
    for proc in launch([str(script), str(tmp_path / "two"), str(ROOT / "tests"), todo]):
        assert proc.returncode == 0, proc.stderr
    single = json.loads((tmp_path / "one" / "searches-0.json").read_text())
    assert json.loads((tmp_path / "two" / "searches-0.json").read_text()) == single and single
    assert json.loads((tmp_path / "two" / "searches-1.json").read_text()) == []  # rank 1 never searched
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.json") if "searches" not in p.name)
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*.json") if "searches" not in p.name)
    assert len(files) == 12  # six results, six per-item sidecars
    for name in files:
        a, b = tmp_path / "one" / name, tmp_path / "two" / name
        if name.name.endswith(".items.json"):
            assert a.read_bytes() == b.read_bytes(), name
        else:
            assert _comparable(a) == _comparable(b), name
