"""LAReQA and Mewsli-X: string rules, AP@20 / RR@20 by hand, and end-to-end equality with brute force."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from fakes import CharNgramAdapter
from retrieval_fixtures import LAREQA, write_lareqa, write_mewslix
from xharness.cli import main
from xharness.errors import XharnessError
from xharness.tasks.topk import blocked_topk
from xharness.tasks.lareqa import Lareqa, candidate_text, overall_map
from xharness.tasks.mewslix import MewsliX, entity_text, mention_query
from xharness.tasks.ranking import average_precision_at_k, hit_matrix, reciprocal_rank_at_k

class JitteredNgrams(CharNgramAdapter):
    """Character n-grams plus a small text-seeded perturbation: no near-ties, so float32 blocking
    order cannot reorder two candidates between the task and the brute force."""

    def encode(self, texts, *, batch_size=32):
        base = super().encode(texts, batch_size=batch_size)
        for row, text in enumerate(texts):
            seed = hash_text(text)
            base[row] += 0.05 * np.random.default_rng(seed).standard_normal(base.shape[1]).astype(np.float32)
        return base


def hash_text(text):
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


# -- string rules ---------------------------------------------------------------------------


def test_mention_query_examples():
    text = "Jason war ein wortkarges Individuum, daher war es immer eine echte Überraschung, wenn er etwas sagte."
    start = text.index("Individuum")
    assert mention_query(text, [(0, len(text))], start, start + 10) == (
        "Individuum: Jason war ein wortkarges { Individuum } , daher war es immer eine echte Überraschung, wenn er etwas sagte."
    )
    text = "Ich habe Angst. There is a monster under my bed."
    start = text.index("There")
    assert mention_query(text, [(0, 15), (16, len(text))], start, start + 5) == "There: { There } is a monster under my bed."


def test_mention_query_escapes_pairs_only_and_needs_one_sentence():
    text = "A {b} c} {d Name e."
    start = text.index("Name")
    # Only a balanced {...} becomes (...); a lone brace stays, as XTREME's pattern leaves it.
    assert mention_query(text, [(0, len(text))], start, start + 4) == "Name: A (b) c} {d { Name } e."
    assert mention_query("One. Two.", [(0, 4), (5, 9)], 2, 7) is None


def test_candidate_texts():
    assert candidate_text("B. ", "A. B. \nC.\n") == "B. A. B. C."
    assert entity_text("Eins.\nZwei.  Drei.", [(0, 11), (13, 18)]) == "Eins. Zwei. Drei."
    assert entity_text("x   y", [(0, 5)]) == "x  y"  # one pass of the double-space rule, as XTREME


# -- ranking maths by hand --------------------------------------------------------------------


def test_average_precision_by_hand():
    # hits at ranks 1, 3, 4 of 3 targets: (1/1 + 2/3 + 3/4) / 3
    assert average_precision_at_k([[1, 0, 1, 1]], [3], k=20)[0] == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    # fewer candidates than k: the short ranking counts what it holds; a missed target still divides
    assert average_precision_at_k([[0, 1]], [2], k=20)[0] == pytest.approx(0.5 / 2)
    # more than 20 targets: divisor 20; hits beyond rank 20 do not count
    row = [1] * 25
    assert average_precision_at_k([row], [30], k=20)[0] == pytest.approx(1.0)
    assert average_precision_at_k([[0] * 20 + [1]], [1], k=20)[0] == 0.0
    with pytest.raises(ValueError, match="at least one target"):
        average_precision_at_k([[0]], [0])


def test_reciprocal_rank_by_hand_and_ties():
    assert reciprocal_rank_at_k([[0, 0, 0, 1]], k=20)[0] == pytest.approx(0.25)
    assert reciprocal_rank_at_k([[0] * 20 + [1]], k=20)[0] == 0.0
    assert reciprocal_rank_at_k(np.zeros((2, 0)), k=20).tolist() == [0.0, 0.0]
    # Ties: two identical candidates; the lower index ranks first.
    q = np.array([[1.0, 0.0]], np.float32)
    c = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], np.float32)
    _, top = blocked_topk(q, c, k=20, block_size=1)
    assert top.tolist() == [[1, 2, 0]]  # fewer than 20 candidates: k is capped
    assert reciprocal_rank_at_k(hit_matrix([top[0].tolist()], [2]))[0] == pytest.approx(0.5)


# -- LAReQA end to end ------------------------------------------------------------------------


def _brute_lareqa(root):
    """Independent reading of XTREME's rules and a full sort."""
    adapter = CharNgramAdapter()
    cands, sentences, questions = [], {}, []
    for lang in sorted(LAREQA):
        data = json.loads((root / "lareqa" / "xquad-r" / f"{lang}.json").read_text("utf-8"))
        for p, par in enumerate(data["data"][0]["paragraphs"]):
            ctx = par["context"]
            sents = [ctx[s:e] for s, e in par["sentence_breaks"]]
            for i, s in enumerate(sents):
                cands.append((lang, p, i))
                sentences[(lang, p, i)] = (s, (s + ctx).replace("\n", "").strip())
            for qa in par["qas"]:
                a = qa["answers"][0]["answer_start"]
                hold = [ctx[s:e] for s, e in par["sentence_breaks"] if s <= a < e]
                if hold:
                    questions.append((lang, qa["id"], qa["question"].strip(), p, hold[0]))
    targets = {}
    for lang, qid, _, p, answer in questions:
        targets.setdefault(qid, set()).update(c for c in cands if c[:2] == (lang, p) and sentences[c][0] == answer)
    def norm(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    C = norm(adapter.encode([sentences[c][1] for c in cands]))
    out = {}
    for lang, qid, text, _, _ in questions:
        s = (norm(adapter.encode([text])) @ C.T)[0]
        order = sorted(range(len(cands)), key=lambda j: (-s[j], j))[:20]
        hits, total = 0, 0.0
        for rank, j in enumerate(order, 1):
            if cands[j] in targets[qid]:
                hits += 1
                total += hits / rank
        out.setdefault(lang, []).append(total / min(len(targets[qid]), 20))
    return out, targets


def test_lareqa_matches_brute_force(tmp_path):
    root = write_lareqa(tmp_path)
    task = Lareqa(root)
    result = task.run(CharNgramAdapter().encode, model={"name": "char"}, languages=["en", "de", "es"])
    brute, targets = _brute_lareqa(root)
    for lang, aps in brute.items():
        assert result.scores[lang].main_score == pytest.approx(100 * np.mean(aps), abs=1e-9)
        assert result.items[lang]["ap"] == pytest.approx(aps)
    assert result.scores["es"].n == 2  # es q2 has no answer sentence: dropped
    de = dict(zip(result.items["de"]["question_id"], result.items["de"]["targets"]))
    assert sorted(de["q1"]) == ["de:1:0", "de:1:2", "en:1:0", "es:1:0"]  # de repeats the answer sentence
    assert sorted(de["q2"]) == ["de:1:3", "en:1:2"]  # no es target: es's q2 answer lies outside every sentence
    assert result.scores["en"].metrics["n_candidates"] == 18
    every = [ap for aps in brute.values() for ap in aps]
    assert overall_map(result.scores) == pytest.approx(100 * np.mean(every))


def test_lareqa_pool_is_every_language_whatever_is_requested(tmp_path):
    root = write_lareqa(tmp_path)
    one = Lareqa(root).run(CharNgramAdapter().encode, model={"name": "char"}, languages=["de"])
    assert one.scores["de"].metrics["n_candidates"] == 18
    brute, _ = _brute_lareqa(root)
    assert one.scores["de"].main_score == pytest.approx(100 * np.mean(brute["de"]))


# -- Mewsli-X end to end ----------------------------------------------------------------------


def _brute_mewslix(root, lang, limit=None):
    adapter = JitteredNgrams()
    folder = root / "mewslix"
    ents = [json.loads(line) for line in (folder / "candidate_set_entities.jsonl").read_text("utf-8").splitlines()][:limit]
    texts = [" ".join(" ".join(e["description"][s["start"]:s["end"]] for s in e["sentence_spans"]).splitlines()).replace("  ", " ").strip()
             for e in ents]
    labels = json.loads((folder / "wikinews_labels" / f"dev-{lang}.json").read_text())
    queries = {}
    for line in (folder / "wikinews_mentions" / f"dev-{lang}.jsonl").read_text("utf-8").splitlines():
        doc = json.loads(line)
        text = doc["context"]["text"]
        for m in doc["mentions"]:
            sp = m["mention_span"]
            s = next(x for x in doc["context"]["sentence_spans"] if x["start"] <= sp["start"] and sp["end"] <= x["end"])
            left = text[s["start"]:sp["start"]].replace("{", "(").replace("}", ")")
            right = text[sp["end"]:s["end"]].replace("{", "(").replace("}", ")")
            queries[m["example_id"]] = f"{sp['text']}: {left} {{ {sp['text']} }} {right}".replace("  ", " ").strip()
    def norm(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    C = norm(adapter.encode(texts))
    rr = []
    for example, gold in labels.items():
        s = (norm(adapter.encode([queries[example]])) @ C.T)[0]
        order = sorted(range(len(ents)), key=lambda j: (-s[j], j))[:20]
        ids = [ents[j]["entity_id"] for j in order]
        rr.append(1 / (ids.index(gold[0]) + 1) if gold[0] in ids else 0.0)
    return rr


def test_mewslix_matches_brute_force_with_blocks_and_memmap(tmp_path, monkeypatch):
    import xharness.tasks.topk as topk
    import xharness.tasks.mewslix as mx

    root = write_mewslix(tmp_path)
    monkeypatch.setattr(mx, "EMBED_CHUNK", 64)  # the candidates go through a memmap on disk
    monkeypatch.setattr(topk, "CANDIDATE_BLOCK", 50)
    task = MewsliX(root)
    result = task.run(JitteredNgrams().encode, model={"name": "char"}, languages=["de", "en"])
    assert isinstance(task._vectors, np.memmap)
    for lang in ("de", "en"):
        rr = _brute_mewslix(root, lang)
        assert result.items[lang]["rr"] == pytest.approx(rr)
        assert result.scores[lang].main_score == pytest.approx(100 * np.mean(rr))
        assert result.scores[lang].metrics["n_candidates"] == 300
    assert result.scores["de"].main_score > 30  # names are in both texts: the fake model finds many


def test_mewslix_candidates_limit_in_protocol_and_test_refused(tmp_path):
    root = write_mewslix(tmp_path, entities=60, mentions=10)
    limited = MewsliX(root, candidates_limit=30)
    result = limited.run(JitteredNgrams().encode, model={"name": "char"}, languages=["es"])
    assert result.scores["es"].metrics["n_candidates"] == 30
    assert result.items["es"]["rr"] == pytest.approx(_brute_mewslix(root, "es", limit=30))
    assert result.config["candidates_limit"] == 30
    assert result.task["protocol"]["candidates_limit"] == 30
    with pytest.raises(XharnessError, match="no gold QID"):
        MewsliX(root, split="test").load(["de"])


def test_mewslix_refuses_cross_sentence_mention(tmp_path):
    root = write_mewslix(tmp_path, entities=20, mentions=2)
    path = root / "mewslix" / "wikinews_mentions" / "dev-en.jsonl"
    doc = json.loads(path.read_text("utf-8").splitlines()[0])
    text = doc["context"]["text"]
    doc["mentions"][0]["mention_span"] = {"start": 0, "end": len(text), "text": text}
    path.write_text(json.dumps(doc) + "\n", "utf-8")
    with pytest.raises(XharnessError, match="not inside one sentence"):
        MewsliX(root).load(["en"])


# -- the CLI, one run per task ------------------------------------------------------------------


@pytest.mark.parametrize("task, build, metric", [("lareqa", write_lareqa, "map_at_20"), ("mewslix", write_mewslix, "mrr_at_20")])
def test_cli_eval(tiny_bert_dir, tmp_path, task, build, metric):
    data = build(tmp_path / "data")
    out = tmp_path / "results"
    args = ["eval", tiny_bert_dir, "-t", task, "--data-dir", data, "-o", out, "--name", "tiny", "-l", "all"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "tiny" / f"{task}.json").read_text())
    assert saved["task"]["main_metric"] == metric and len(saved["scores"]) == 3
    items = json.loads((out / "tiny" / f"{task}.items.json").read_text())["languages"]
    assert all(len(v["ranked"]) == saved["scores"][lang]["n"] for lang, v in items.items())


def test_cli_refuses_blank_test_labels_and_bad_data_before_the_model(tmp_path):
    from test_bad_inputs import assert_refused, xh

    data = write_mewslix(tmp_path / "data", entities=20, mentions=2)
    out = tmp_path / "results"
    # The model folder does not exist: the data is checked (and refused) before any model work.
    result = xh("eval", tmp_path / "no-model", "-t", "mewslix", "--split", "test", "--data-dir", data, "-o", out)
    assert_refused(result, "no gold QID", out=out)
    lareqa = write_lareqa(tmp_path / "lq")
    (lareqa / "lareqa" / "xquad-r" / "de.json").write_text("{\"data\": 3}", "utf-8")
    result = xh("eval", tmp_path / "no-model", "-t", "lareqa", "--data-dir", lareqa, "-o", out)
    assert_refused(result, "de.json", "not an XQuAD-R", out=out)


def test_blocked_topk_equals_a_full_sort_across_blocks_with_ties(tmp_path):
    rng = np.random.default_rng(3)
    q = rng.standard_normal((70, 8)).astype(np.float32)
    c = rng.standard_normal((500, 8)).astype(np.float32)
    c[[40, 260, 499]] = c[5]  # equal similarities in different blocks: lower index first
    path = tmp_path / "c.f32"
    disk = np.memmap(path, dtype=np.float32, mode="w+", shape=c.shape)
    disk[:] = c
    disk.flush()
    on_disk = np.memmap(path, dtype=np.float32, mode="r", shape=c.shape)
    D, I = blocked_topk(q, on_disk, k=25, block_size=64, query_chunk=16)
    S = q @ c.T
    for i in range(len(q)):
        expected = sorted(range(len(c)), key=lambda j: (-S[i, j], j))[:25]
        assert I[i].tolist() == expected
    assert np.allclose(D, np.take_along_axis(S, I, axis=1), atol=1e-5)
    with pytest.raises(ValueError, match="dimensions differ"):
        blocked_topk(q, c[:, :4], k=3)
