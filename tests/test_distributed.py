"""Encoding split over processes (torchrun, accelerate launch): shares, gathering, and results equal to one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xharness.distributed import World, shard

ROOT = Path(__file__).resolve().parent.parent


# ---- one process: the shares and the world -------------------------------------------------


def test_shares_cover_every_item_once_longest_first_and_balanced():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=1001)
    for size in (1, 2, 3, 8):
        shares = shard(lengths, size)
        assert sorted(np.concatenate(shares).tolist()) == list(range(len(lengths)))
        totals = [int(lengths[s].sum()) for s in shares]
        assert max(totals) - min(totals) <= lengths.max()  # snake dealing: within about one item
        for s in shares:
            assert (np.diff(lengths[s]) <= 0).all()  # each share longest first: little padding


def test_more_ranks_than_items_leaves_some_ranks_idle():
    shares = shard([3, 1], 4)
    assert [s.tolist() for s in shares] == [[0], [1], [], []]


def test_one_process_is_the_default_and_never_imports_torch(monkeypatch):
    code = (
        "import sys; from xharness.distributed import world, is_main; "
        "print(world(), is_main(), 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "World(rank=0, size=1, local_rank=0) True False"


def test_a_single_process_embedder_does_no_collective_call(tmp_path):
    from fakes import CharNgramAdapter

    from xharness.embedding import Embedder

    embed = Embedder(CharNgramAdapter(), world=World())
    vectors = embed(["one", "two", "one"])
    assert vectors.shape == (3, 256) and embed.stats.encoded == 2


# ---- rank 0 of a simulated world of two: the peer's part computed in-process ---------------


class _PeerOfRankZero:
    """Stands in for torch.distributed as rank 0 sees it: rank 1 lacks `peer_lacks` and encodes its share with `adapter`."""

    def __init__(self, adapter, peer_lacks=()) -> None:
        self.adapter, self.peer_lacks, self.missing = adapter, set(peer_lacks), []

    def all_gather_object(self, parts, mine) -> None:
        first = mine[0]
        if isinstance(first, str):  # agree_missing: (digest of the texts, packed mask)
            texts = self._texts
            lack = np.array([t in self.peer_lacks for t in texts])
            parts[:] = [mine, (first, np.packbits(lack))]
            union = np.unpackbits(np.packbits(lack) | mine[1], count=len(texts)).astype(bool)
            self.missing = [t for t, m in zip(texts, union) if m]
        else:  # gather_rows: (indices, vectors)
            share = shard([len(t) for t in self.missing], 2)[1]
            vectors = self.adapter.encode([self.missing[i] for i in share]) if len(share) else None
            parts[:] = [mine, (share, vectors)]


class _CountingAdapter:
    def __init__(self, inner) -> None:
        self.inner, self.name, self.kind, self.fingerprint, self.options, self.seen = inner, inner.name, inner.kind, inner.fingerprint, {}, []

    def encode(self, texts, *, batch_size=32):
        self.seen.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size)


def test_rank_zero_encodes_its_share_and_gets_every_vector(monkeypatch, tmp_path):
    from fakes import CharNgramAdapter

    import xharness.distributed as distributed
    from xharness.cache import EmbeddingCache
    from xharness.embedding import Embedder

    texts = ["tiny", "a much longer sentence than the rest", "middling text", "tiny", "mid text", "z"]
    peer = _PeerOfRankZero(CharNgramAdapter(dim=32))
    real_agree = distributed.agree_missing

    def agree(unique, missing):
        peer._texts = list(unique)
        return real_agree(unique, missing)

    monkeypatch.setattr(distributed, "_dist", lambda: peer)
    monkeypatch.setattr(distributed, "_WORLD", World(rank=0, size=2))
    monkeypatch.setattr(distributed, "agree_missing", agree)
    adapter = _CountingAdapter(CharNgramAdapter(dim=32))
    cache = EmbeddingCache("fake", root=tmp_path)
    embed = Embedder(adapter, cache=cache, world=World(rank=0, size=2))
    np.testing.assert_array_equal(embed(texts), CharNgramAdapter(dim=32).encode(texts))
    assert sorted(adapter.seen) == ["a much longer sentence than the rest", "tiny", "z"]  # its share only (snake dealing)
    assert embed.stats.encoded == 5 and len(cache) == 5 and cache.writable  # rank 0 caches everything
    # Rank 1 lacks a text rank 0 has cached: both encode it again, so both hold the same set.
    peer.peer_lacks = {"tiny"}
    adapter.seen.clear()
    np.testing.assert_array_equal(embed(["tiny", "z"]), CharNgramAdapter(dim=32).encode(["tiny", "z"]))
    assert adapter.seen == ["tiny"] and embed.stats.cache_hits == 1


def test_a_rank_other_than_zero_keeps_the_cache_in_memory(tmp_path):
    from fakes import CharNgramAdapter

    from xharness.cache import EmbeddingCache
    from xharness.embedding import Embedder

    cache = EmbeddingCache("fake", root=tmp_path)
    Embedder(CharNgramAdapter(), cache=cache, world=World(rank=1, size=2))
    assert not cache.writable


# ---- two processes under gloo, started the way a launcher starts them ---------------------

WORKER = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from fakes import CharNgramAdapter
from xharness.cache import EmbeddingCache
from xharness.distributed import broadcast, total, world
from xharness.embedding import Embedder

out = sys.argv[1]
w = world()
cache = EmbeddingCache("fake-fingerprint", root=out + "/cache")
adapter = CharNgramAdapter(dim=64)
texts = ["a short one", "a much longer sentence than the others", "mid length text", "a short one", "x", "yy"]
embed = Embedder(adapter, cache=cache)
first = embed(texts)
again = embed(texts[:3] + ["new text"])  # cached on every rank now: only the new text is encoded
np.save(f"{out}/rank{w.rank}.npy", np.concatenate([first, again]))
report = {
    "world": [w.rank, w.size], "encoded": embed.stats.encoded, "hits": embed.stats.cache_hits,
    "decision": broadcast({"from": w.rank}), "total": total(w.rank + 1), "none": total(None),
    "writable": cache.writable,
}
json.dump(report, open(f"{out}/rank{w.rank}.json", "w"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str], *, n: int = 2, cwd: Path | None = None, timeout: int = 120) -> list[subprocess.CompletedProcess]:
    """`n` ranks of `python args...` with the environment torchrun gives them (one node, gloo)."""
    port = str(_free_port())
    procs = []
    for rank in range(n):
        env = {
            **os.environ, "RANK": str(rank), "WORLD_SIZE": str(n), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(n),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
        }
        procs.append(subprocess.Popen([sys.executable, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    done = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return done


@pytest.mark.slow  # two torch imports: 3 s on a quiet machine, 30 s on a loaded one
def test_two_ranks_encode_shares_and_all_get_every_vector(tmp_path):
    from fakes import CharNgramAdapter

    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    for proc in launch([str(script), str(tmp_path), str(ROOT / "tests")]):
        assert proc.returncode == 0, proc.stderr
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    adapter = CharNgramAdapter(dim=64)
    texts = ["a short one", "a much longer sentence than the others", "mid length text", "a short one", "x", "yy"]
    expected = np.concatenate([adapter.encode(texts), adapter.encode(texts[:3] + ["new text"])])
    for r in range(2):
        np.testing.assert_array_equal(np.load(tmp_path / f"rank{r}.npy"), expected)
    for r, report in enumerate(reports):
        assert report["world"] == [r, 2]
        assert report["encoded"] == 6 and report["hits"] == 3  # counts of the whole world, as one process counts
        assert report["decision"] == {"from": 0} and report["total"] == 3 and report["none"] is None
    assert reports[0]["writable"] and not reports[1]["writable"]
    # Rank 0 alone wrote the cache: one shard per call that encoded something, never two.
    assert len(list((tmp_path / "cache").rglob("shard-*.json"))) == 2


# ---- the command line: torchrun's two CPU processes score exactly as one process ----------

EN = [f"The {animal} {verb} near the {place}." for animal in ("cat", "dog", "bird") for verb in ("sleeps", "runs") for place in ("house", "river", "market")]
DE = [f"Das {animal} {verb} bei dem {place}." for animal in ("Katze", "Hund", "Vogel") for verb in ("schläft", "läuft") for place in ("Haus", "Fluss", "Markt")]


def _tatoeba(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tatoeba.deu-eng.deu").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (folder / "tatoeba.deu-eng.eng").write_text("\n".join(EN) + "\n", encoding="utf-8")
    return folder


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_process(tiny_bert_dir, tmp_path):
    data = _tatoeba(tmp_path / "data")
    common = ["eval", str(tiny_bert_dir), "--data-dir", str(data), "-l", "de", "--name", "tiny", "--no-cache", "--batch-size", "4"]
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    one = subprocess.run([sys.executable, "-m", "xharness", *common, "-o", str(tmp_path / "one")], capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         "-m", "xharness", *common, "-o", str(tmp_path / "two")],
        capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}, timeout=300,
    )
    assert two.returncode == 0, two.stderr
    from xharness.results import load_items

    a = json.loads((tmp_path / "one" / "tiny" / "tatoeba.json").read_text())
    b = json.loads((tmp_path / "two" / "tiny" / "tatoeba.json").read_text())
    # the same retrieved neighbour for every sentence
    assert load_items(tmp_path / "two" / "tiny" / "tatoeba.json") == load_items(tmp_path / "one" / "tiny" / "tatoeba.json")
    for lang, score in a["scores"].items():
        for metric, value in score.items():
            assert b["scores"][lang][metric] == pytest.approx(value, abs=1e-6), metric
    assert b["run"]["encoded"] == a["run"]["encoded"] and b["run"]["world_size"] == 2
    def files(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    assert files(tmp_path / "two") == files(tmp_path / "one")  # rank 0 wrote them, alone: no partials left, no second copy
    assert two.stdout.count("written:") == 1 and two.stdout.count("tatoeba") == one.stdout.count("tatoeba")
    assert "error" not in two.stderr


def test_a_refusal_rank_zero_decides_is_raised_on_every_rank_and_printed_once(monkeypatch):
    import xharness.distributed as distributed
    from xharness.errors import XharnessError

    assert distributed.decided_by_main(lambda: 42, World()) == 42  # one process: just the call
    monkeypatch.setattr(distributed, "broadcast", lambda value: XharnessError("out: is a file") if value is None else value)
    with pytest.raises(XharnessError) as raised:
        distributed.decided_by_main(lambda: pytest.fail("rank 1 reads no file"), World(rank=1, size=2))
    assert raised.value.told_by_main
    with pytest.raises(XharnessError) as raised:
        distributed.decided_by_main(lambda: (_ for _ in ()).throw(XharnessError("out: is a file")), World(rank=0, size=2))
    assert not getattr(raised.value, "told_by_main", False)
