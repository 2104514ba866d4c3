"""FLORES-200 / FLORES+ / NTREX-128 with LASER's xSIM and xSIM++: equal to a brute-force float64
computation written here, in every margin, direction and the nway mode; layouts, codes, refusals,
and how compare, report and the leaderboard treat a lower-is-better task.

Fixtures are written by the tests in the releases' layouts, with sentences made up here; the
vectors come from a seeded generator (translations of one sentence near one another), given to
the model through `LookupAdapter`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fakes import LookupAdapter
from test_bad_inputs import assert_refused, xh
from test_leaderboard import make_result
from xharness.embedding import Embedder
from xharness.errors import XharnessError
from xharness.results import TaskResult
from xharness.tasks import TASKS

N = 24
LANGS = ("deu_Latn", "fra_Latn", "swh_Latn")
MODEL = {"name": "m", "slug": "m", "adapter": "fake", "fingerprint": "fp-m"}
DUP = (3, 9)  # English lines 3 and 9 hold the same sentence (so the same vector)
HARD = {2: "number", 5: "entity", 11: "number", 17: "negation"}  # original line -> error type of its hard negative


def sentence(lang: str, i: int) -> str:
    if lang == "eng_Latn" and i == DUP[1]:
        i = DUP[0]
    return f"{lang} made-up sentence number {i} about {'rivers' if i % 2 else 'markets'}"


def flip(rng, rows: np.ndarray, share: float) -> np.ndarray:
    return rows * np.where(rng.random(rows.shape) < share, -1.0, 1.0)


def build(root: Path, *, layout: str = "flores200", split: str = "devtest", hard: bool = True, noise: float = 0.3, seed: int = 0):
    """Write a FLORES fixture under `root`; return the text -> vector table for LookupAdapter.

    Vectors are +-1 in 64 dimensions (norm 8), so every cosine is an exact multiple of 1/64 in
    float32 and float64 alike, whatever order a BLAS sums in: equal similarities are equal
    bit for bit, and ties are settled by the rule under test, not by rounding. A translation
    flips a share `noise` of its sentence's signs; a hard negative flips a tenth.
    """
    rng = np.random.default_rng(seed)
    base = rng.choice([-1.0, 1.0], size=(N, 64))
    base[DUP[1]] = base[DUP[0]]
    vectors: dict[str, np.ndarray] = {}
    if layout == "flores200":
        folder, name = root / "flores200_dataset" / split, (lambda code: f"{code}.{split}")
    else:
        folder, name = root / "floresp-v2.0-rc.3" / split, (lambda code: f"{split}.{code}")
    folder.mkdir(parents=True)
    for code in ("eng_Latn", *LANGS):
        lines = [sentence(code, i) for i in range(N)]
        for i, text in enumerate(lines):
            if text not in vectors:
                vectors[text] = base[i] if code == "eng_Latn" else flip(rng, base[i], noise)
        (folder / name(code)).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if hard:
        aug_dir = folder.parent / f"{split}_augmented"
        aug_dir.mkdir()
        table, lines = {}, []
        for i, kind in HARD.items():
            text = f"altered copy of line {i}"
            lines.append(text)
            table[text] = {"src": sentence("eng_Latn", i), "errtype": kind}
            vectors[text] = flip(rng, base[i], 0.1)
        (aug_dir / f"eng_Latn_augmented.{split}").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (aug_dir / f"eng_Latn_errtype.{split}.json").write_text(json.dumps(table), encoding="utf-8")
    return vectors


def run_task(root, vectors, task="flores", **options):
    t = TASKS.get(task)(root, **options)
    return t.run(Embedder(LookupAdapter(vectors)), model=MODEL)


# -- the independent computation ------------------------------------------------------------------


def brute(x, y, *, k=4, margin="ratio", texts=None):
    """LASER's xSIM in float64 by loops: (retrieved index per query, error flags)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    sim = x @ y.T
    kx, ky = min(k, len(y)), min(k, len(x))
    near = [sorted(range(len(y)), key=lambda j: (-sim[i, j], j))[:kx] for i in range(len(x))]
    mean_x = [np.mean([sim[i, j] for j in near[i]]) for i in range(len(x))]
    mean_y = [np.mean(sorted(sim[:, j], reverse=True)[:ky]) for j in range(len(y))]
    best = []
    for i in range(len(x)):
        scores = []
        for j in near[i]:
            a, b = sim[i, j], (mean_x[i] + mean_y[j]) / 2
            scores.append({"ratio": a / b, "distance": a - b, "absolute": a}[margin])
        best.append(near[i][int(np.argmax(scores))])  # the first maximum: the nearer, then lower index
    wrong = [(texts[j] != texts[i]) if texts is not None else (j != i) for i, j in enumerate(best)]
    return best, np.array(wrong)


def vecs(vectors, texts):
    return np.stack([vectors[t] for t in texts])


def texts_of(code, n=N):
    return [sentence(code, i) for i in range(n)]


# -- equality with the brute force -------------------------------------------------------------------


@pytest.mark.parametrize("margin", ["ratio", "distance", "absolute"])
@pytest.mark.parametrize("direction", ["xx-en", "en-xx"])
@pytest.mark.parametrize("errors_by", ["index", "text"])
def test_xsim_equals_brute_force(tmp_path, margin, direction, errors_by):
    vectors = build(tmp_path, hard=False)
    result = run_task(tmp_path, vectors, margin=margin, direction=direction, errors_by=errors_by)
    english = texts_of("eng_Latn")
    for code in LANGS:
        xx = texts_of(code)
        q, c, c_texts = (xx, english, english) if direction == "xx-en" else (english, xx, xx)
        best, wrong = brute(vecs(vectors, q), vecs(vectors, c), margin=margin, texts=c_texts if errors_by == "text" else None)
        items = result.items[code]
        assert items["retrieved"] == best
        assert items["error"] == wrong.astype(int).tolist()
        assert result.scores[code].main_score == pytest.approx(100 * wrong.mean())
        assert result.scores[code].metrics["n_errors"] == wrong.sum()
    assert any(result.scores[c].main_score > 0 for c in LANGS)  # the fixture is not trivially solved


def test_duplicates_tie_to_the_lower_index_and_count_by_index_or_text(tmp_path):
    vectors = build(tmp_path, hard=False, noise=0.0)  # every translation sits on its English vector
    by_index = run_task(tmp_path, vectors, errors_by="index", margin="absolute")
    by_text = run_task(tmp_path, vectors, errors_by="text", margin="absolute")
    items = by_index.items["deu_Latn"]
    # The query of line 9 meets two equal English candidates, lines 3 and 9: the lower index wins.
    assert items["retrieved"][DUP[1]] == DUP[0] and items["retrieved"][DUP[0]] == DUP[0]
    assert items["error"][DUP[1]] == 1 and sum(items["error"]) == 1
    assert sum(by_text.items["deu_Latn"]["error"]) == 0  # same text: no error (LASER's eval_text)


@pytest.mark.parametrize("margin", ["ratio", "distance", "absolute"])
def test_nway_matrix_rows_and_items_equal_brute_force(tmp_path, margin):
    vectors = build(tmp_path, hard=False)
    result = run_task(tmp_path, vectors, margin=margin, direction="nway", k=3)
    codes = sorted(("eng_Latn", *LANGS))
    matrix = result.task["protocol"]["matrix"]
    assert matrix["languages"] == codes
    assert result.config["nway_languages"] == codes
    for a, src in enumerate(codes):
        rates, missed = [], np.zeros(N)
        for b, tgt in enumerate(codes):
            if a == b:
                assert matrix["xsim"][a][b] is None
                continue
            _, wrong = brute(vecs(vectors, texts_of(src)), vecs(vectors, texts_of(tgt)), k=3, margin=margin)
            assert matrix["xsim"][a][b] == pytest.approx(100 * wrong.mean())
            rates.append(100 * wrong.mean())
            missed += wrong
        assert result.scores[src].main_score == pytest.approx(np.mean(rates))
        assert result.items[src]["error"] == pytest.approx((missed / (len(codes) - 1)).tolist())
        column = [matrix["xsim"][b][a] for b in range(len(codes)) if b != a]
        assert result.scores[src].metrics["xsim_as_target"] == pytest.approx(np.mean(column))


@pytest.mark.parametrize("errors_by", ["index", "text"])
def test_xsimpp_equals_brute_force_and_its_breakdown_sums_to_the_errors(tmp_path, errors_by):
    vectors = build(tmp_path)
    result = run_task(tmp_path, vectors, errors_by=errors_by)
    english = texts_of("eng_Latn")
    negatives = [f"altered copy of line {i}" for i in HARD]
    pool = english + negatives
    total_hard = 0
    for code in LANGS:
        best, wrong = brute(vecs(vectors, texts_of(code)), vecs(vectors, pool), texts=pool if errors_by == "text" else None)
        items, metrics = result.items[code], result.scores[code].metrics
        assert items["retrieved_pp"] == best and items["error_pp"] == wrong.astype(int).tolist()
        assert metrics["xsimpp"] == pytest.approx(100 * wrong.mean())
        expected = {}
        for i, (j, bad) in enumerate(zip(best, wrong)):
            if bad:
                line = j - N
                kind = HARD[list(HARD)[line]] if line >= 0 and list(HARD)[line] == i else "Misaligned"
                expected[kind] = expected.get(kind, 0) + 1
        breakdown = {k[len("xsimpp_errors_"):]: v for k, v in metrics.items() if k.startswith("xsimpp_errors_")}
        assert set(breakdown) == {"number", "entity", "negation", "misaligned"}
        assert sum(breakdown.values()) == metrics["n_errors_pp"] == wrong.sum()
        assert {k.lower(): v for k, v in expected.items()} == {k: v for k, v in breakdown.items() if v}
        total_hard += sum(v for k, v in breakdown.items() if k != "misaligned")
        plain = brute(vecs(vectors, texts_of(code)), vecs(vectors, english), texts=english if errors_by == "text" else None)[1]
        assert result.scores[code].main_score == pytest.approx(100 * plain.mean())
    assert total_hard > 0  # the hard negatives do catch some queries
    assert "xsimpp" in result.task["protocol"]


def test_flores_plus_layout_and_dev_split(tmp_path):
    vectors = build(tmp_path, layout="floresp", split="dev", hard=False)
    task = TASKS.get("flores")(tmp_path, split="dev")
    assert task.available_languages() == list(LANGS)
    result = task.run(Embedder(LookupAdapter(vectors)), model=MODEL)
    assert result.task["split"] == "dev" and result.config["split"] == "dev"
    with pytest.raises(XharnessError, match="no flores data found"):
        TASKS.get("flores")(tmp_path).resolve_languages()  # devtest is not there


def test_language_codes_own_short_and_three_letter_where_unambiguous(tmp_path):
    build(tmp_path, hard=False)
    folder = tmp_path / "flores200_dataset" / "devtest"
    for code in ("zho_Hans", "zho_Hant"):
        (folder / f"{code}.devtest").write_text("a\n" * N)
    task = TASKS.get("flores")(tmp_path)
    assert task.resolve_languages(["de", "fra", "SWH_latn", "sw"]) == ["deu_Latn", "fra_Latn", "swh_Latn"]
    assert task.resolve_languages(["zho_Hant"]) == ["zho_Hant"]
    for code in ("zh", "cmn"):
        with pytest.raises(XharnessError, match="ambiguous.*zho_Hans, zho_Hant"):
            task.resolve_languages([code])
    with pytest.raises(XharnessError, match="unknown language code 'en'"):
        task.resolve_languages(["en"])  # English is the other side, not a language of its own here


def test_ntrex_layout_and_codes(tmp_path):
    folder = tmp_path / "NTREX-128"
    folder.mkdir()
    rng = np.random.default_rng(1)
    base = rng.choice([-1.0, 1.0], size=(N, 64))
    vectors = {}
    for code, noise in (("src.eng", 0), ("ref.deu", 0.35), ("ref.fra", 0.35), ("ref.fra-CA", 0.4), ("ref.eng-US", 0.1), ("ref.eng-GB", 0.1)):
        lines = [f"ntrex {code} line {i}" for i in range(N)]
        vectors.update({t: flip(rng, base[i], noise) for i, t in enumerate(lines)})
        (folder / f"newstest2019-{code}.txt").write_text("\n".join(lines) + "\n")
    (folder / "newstest2019-ref-2.spa.txt").write_text("ignored\n")
    task = TASKS.get("ntrex")(tmp_path)
    assert task.available_languages() == ["deu", "eng-GB", "eng-US", "fra", "fra-CA"]
    assert task.resolve_languages(["de", "fr", "fra-ca", "eng-us"]) == ["deu", "fra", "fra-CA", "eng-US"]
    with pytest.raises(XharnessError, match="ambiguous.*eng-GB, eng-US"):
        task.resolve_languages(["en"])
    result = task.run(Embedder(LookupAdapter(vectors)), model=MODEL)
    for code in ("deu", "fra"):
        _, wrong = brute(vecs(vectors, [f"ntrex ref.{code} line {i}" for i in range(N)]), vecs(vectors, [f"ntrex src.eng line {i}" for i in range(N)]))
        assert result.scores[code].main_score == pytest.approx(100 * wrong.mean())


def test_declarations():
    flores = TASKS.get("flores")
    assert flores.higher_is_better is False and flores.main_metric == "xsim"
    assert [o.name for o in flores.options] == ["k", "margin", "split", "direction", "errors_by"]
    assert flores.item_record.value_field == "error"


# -- refusals through the command line ------------------------------------------------------------


@pytest.fixture
def flores_dir(tmp_path):
    build(tmp_path / "data")
    return tmp_path / "data"


def _refused(tiny_bert_dir, data, out, *fragments):
    result = xh("eval", tiny_bert_dir, "-t", "flores", "--data-dir", data, "-o", out)
    assert_refused(result, *fragments, out=out)


def test_refuses_a_missing_english_file(flores_dir, tmp_path, tiny_bert_dir):
    (flores_dir / "flores200_dataset" / "devtest" / "eng_Latn.devtest").unlink()
    _refused(tiny_bert_dir, flores_dir, tmp_path / "out", "no English file (eng_Latn)")


def test_refuses_misaligned_files(flores_dir, tmp_path, tiny_bert_dir):
    path = flores_dir / "flores200_dataset" / "devtest" / "fra_Latn.devtest"
    path.write_text(path.read_text() + "one line too many\n")
    _refused(tiny_bert_dir, flores_dir, tmp_path / "out", "fra_Latn.devtest has 25 lines", "must be parallel")


def test_refuses_an_augmented_file_whose_originals_do_not_match(flores_dir, tmp_path, tiny_bert_dir):
    path = flores_dir / "flores200_dataset" / "devtest_augmented" / "eng_Latn_errtype.devtest.json"
    table = json.loads(path.read_text())
    first = next(iter(table))
    table[first]["src"] = "a sentence the English file does not hold"
    path.write_text(json.dumps(table))
    _refused(tiny_bert_dir, flores_dir, tmp_path / "out", "eng_Latn_augmented.devtest: line 1", "does not match these originals")


def test_refuses_an_augmented_file_without_its_error_types(flores_dir, tmp_path, tiny_bert_dir):
    (flores_dir / "flores200_dataset" / "devtest_augmented" / "eng_Latn_errtype.devtest.json").unlink()
    _refused(tiny_bert_dir, flores_dir, tmp_path / "out", "eng_Latn_errtype.devtest.json is missing")


def test_cli_end_to_end(flores_dir, tmp_path, tiny_bert_dir):
    out = tmp_path / "out"
    result = xh("eval", tiny_bert_dir, "-t", "flores", "--data-dir", flores_dir, "-o", out, "--limit", "12", "--name", "tiny")
    assert result.exit_code == 0, result.output
    written = TaskResult.from_disk(out / "tiny" / "flores.json")
    assert sorted(written.scores) == sorted(LANGS)
    for code in LANGS:
        metrics = written.scores[code].metrics
        assert 0 <= metrics["xsim"] <= 100 and 0 <= metrics["xsimpp"] <= 100 and written.scores[code].n == 12
    assert written.task["main_metric"] == "xsim" and written.config["direction"] == "xx-en"
    items = json.loads((out / "tiny" / "flores.items.json").read_text())["languages"]
    assert len(items["deu_Latn"]["error"]) == 12


# -- compare, report and leaderboard on a lower-is-better task ------------------------------------


def flores_result(model, errors: dict[str, list[int]]):
    scores = {lang: 100.0 * sum(e) / len(e) for lang, e in errors.items()}
    items = {lang: {"retrieved": list(range(len(e))), "margin": [1.0] * len(e), "error": e} for lang, e in errors.items()}
    return make_result(model, "flores", scores, metric="xsim", items=items, n=len(next(iter(errors.values()))))


def test_compare_report_and_leaderboard_read_lower_as_better(tmp_path):
    from xharness.leaderboard.collect import collect
    from xharness.leaderboard.compare import compare
    from xharness.leaderboard.render_compare import render_markdown as render
    from xharness.leaderboard.render_md import render_markdown
    from xharness.leaderboard.render_report_md import render_markdown as render_report
    from xharness.leaderboard.report import build_report
    from xharness.leaderboard.tables import build_leaderboard

    worse = [1] * 30 + [0] * 70
    better = [1] * 10 + [0] * 90
    flores_result("base", {"deu_Latn": worse, "fra_Latn": worse}).to_disk(tmp_path)
    flores_result("tuned", {"deu_Latn": better, "fra_Latn": better}).to_disk(tmp_path)
    result = compare(tmp_path / "base", tmp_path / "tuned", n_resamples=300)
    (task,) = result.tasks
    assert task.higher_is_better is False
    row = next(r for r in task.rows if r.language == "deu_Latn")
    assert row.delta == pytest.approx(-20.0)
    text = render(result)
    assert "flores: lower is better: a negative delta is a gain" in text
    report = build_report(tmp_path, baseline="base", n_resamples=300)
    (info,) = [t for t in report.tasks if t.name == "flores"]
    assert info.higher_is_better is False
    assert "Lower is better on this task: a negative delta is a gain." in render_report(report)

    make_result("base", "tatoeba", {"de": 80.0}).to_disk(tmp_path)
    make_result("tuned", "tatoeba", {"de": 70.0}).to_disk(tmp_path)
    board = build_leaderboard(collect(tmp_path).entries)
    flores = next(t for t in board.tasks if t.task == "flores")
    assert flores.higher_is_better is False
    assert [(r.model, r.rank) for r in flores.rows] == [("tuned", 1), ("base", 2)]  # the lower error rate first
    assert board.overview.left_out == ("flores",)
    overall = {r.model: r.average for r in board.overview.rows}
    assert overall == {"base": pytest.approx(80.0), "tuned": pytest.approx(70.0)}  # tatoeba only: not mixed
    md = render_markdown(board)
    assert "Lower is better on flores: left out of the overall average" in md
    assert "Lower is better on this task (xsim is an error rate)" in md
