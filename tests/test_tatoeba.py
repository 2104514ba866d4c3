"""The Tatoeba task: layouts, language codes, bad input, and a run through the runner with fake models."""

from pathlib import Path

import numpy as np
import pytest

from fakes import CharNgramAdapter, LookupAdapter
from xharness.errors import XharnessError
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval
from xharness.tasks.tatoeba import Tatoeba

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

DE = ["Ich habe Hunger.", "Das Haus ist rot.", "Wo ist der Bahnhof?"]
EN = ["I am hungry.", "The house is red.", "Where is the station?"]


def write_laser(folder: Path, code: str, other: list[str], english: list[str], *, newline="\n", bom=False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "\ufeff" if bom else ""
    (folder / f"tatoeba.{code}-eng.{code}").write_text(prefix + newline.join(other) + newline, encoding="utf-8", newline="")
    (folder / f"tatoeba.{code}-eng.eng").write_text(newline.join(english) + newline, encoding="utf-8", newline="")


def lookup_for(pairs):
    """Translation i gets the same direction as its English sentence: every query is right."""
    vectors = {}
    for i, (a, b) in enumerate(pairs):
        v = np.zeros(8, dtype=np.float32)
        v[i] = 1.0
        vectors[a] = v
        vectors[b] = v + 0.01
    return LookupAdapter(vectors)


def test_finds_laser_layout_in_nested_folders(tmp_path):
    write_laser(tmp_path / "tatoeba" / "v1", "deu", DE, EN)
    write_laser(tmp_path / "tatoeba" / "v1", "cmn", ["我饿了。", "房子是红的。", "车站在哪里？"], EN)
    task = Tatoeba(tmp_path)
    assert task.available_languages() == ["de", "zh"]
    assert task.resolve_languages(["deu", "zh"]) == ["de", "zh"]
    assert task.resolve_languages(["cmn"]) == ["zh"]
    assert task.resolve_languages(["all"]) == ["de", "zh"]
    # The default is XTREME's 36, restricted to what is present.
    assert task.resolve_languages([]) == ["de", "zh"]


def test_reads_xtreme_layout(tmp_path):
    (tmp_path / "de-en.de").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (tmp_path / "de-en.en").write_text("\n".join(EN) + "\n", encoding="utf-8")
    task = Tatoeba(tmp_path)
    data = task.load_language("de")
    assert data.payload == (EN, DE)


def test_bom_crlf_and_trailing_blank_lines_are_accepted(tmp_path):
    write_laser(tmp_path, "deu", DE + ["", ""], EN + [""], newline="\r\n", bom=True)
    english, other = Tatoeba(tmp_path).load_language("de").payload
    assert english == EN and other == DE


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: (d / "tatoeba.deu-eng.deu").write_text("a\nb\n", encoding="utf-8"), "has 2 lines but"),
        (lambda d: (d / "tatoeba.deu-eng.deu").write_text("", encoding="utf-8"), "file is empty"),
        (lambda d: (d / "tatoeba.deu-eng.deu").write_bytes(b"gut\nsch\xf6n\nja\n"), "line 2 is not valid UTF-8"),
        (lambda d: (d / "tatoeba.deu-eng.deu").write_text("a\n\nc\n", encoding="utf-8"), "line 2 is blank"),
        (lambda d: (d / "tatoeba.deu-eng.eng").unlink(), "file not found"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, mutate, message):
    write_laser(tmp_path, "deu", DE, EN)
    mutate(tmp_path)
    with pytest.raises(XharnessError, match=message) as info:
        Tatoeba(tmp_path).load(["de"])
    assert "\n" not in str(info.value)
    assert "tatoeba.deu-eng" in str(info.value)


def test_language_errors(tmp_path):
    write_laser(tmp_path, "deu", DE, EN)
    task = Tatoeba(tmp_path)
    with pytest.raises(XharnessError, match="did you mean 'de'"):
        task.resolve_languages(["dee"])
    with pytest.raises(XharnessError, match="no tatoeba data for language 'fr'"):
        task.resolve_languages(["fr"])
    with pytest.raises(XharnessError, match="data folder not found"):
        Tatoeba(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(XharnessError, match="no tatoeba data found"):
        Tatoeba(empty).resolve_languages([])


def test_run_writes_result_and_items(tmp_path):
    data = tmp_path / "data"
    write_laser(data, "deu", DE, EN)
    adapter = lookup_for(zip(EN, DE))
    out = tmp_path / "results"
    request = EvalRequest(model="lookup", data_dir=data, languages=("de",), run=RunOptions(out_dir=out))
    outcome = run_eval(request, adapter=adapter)
    path = out / "lookup" / "tatoeba.json"
    assert outcome.paths == [path]
    result = TaskResult.from_disk(path)
    assert result.scores["de"].main_score == 100.0
    assert result.scores["de"].n == 3
    assert result.main_metric == "accuracy"
    assert set(result.timing) >= {"load_model", "load_data", "encode", "score"}
    assert result.task["data_fingerprint"] and result.task["protocol"]["queries"] == "en"
    items = load_items(path)
    assert items["de"]["correct"] == [1, 1, 1]
    # A second run skips the finished task without touching the model.
    calls = adapter.calls
    again = run_eval(request, adapter=adapter)
    assert again.skipped == [path] and adapter.calls == calls


def test_limit_and_fingerprint_change(tmp_path):
    write_laser(tmp_path, "deu", DE, EN)
    full = Tatoeba(tmp_path).load_language("de")
    limited = Tatoeba(tmp_path, limit=2).load_language("de")
    assert limited.payload == (EN[:2], DE[:2])
    assert full.fingerprint != limited.fingerprint


@pytest.mark.skipif(not (SHARED / "tatoeba" / "v1").is_dir(), reason="shared Tatoeba data not present")
def test_real_laser_files_with_a_character_model(tmp_path):
    task = Tatoeba(SHARED, limit=200)
    assert len(task.available_languages()) == 112
    assert len(task.resolve_languages([])) == 36
    result = task.run(CharNgramAdapter().encode, model={"name": "char"}, languages=["de", "es", "ja"])
    # Shared character n-grams (names, cognates) put German and Spanish far above chance (0.5%),
    # and Japanese script shares almost nothing with English.
    assert result.scores["de"].main_score > 5
    assert result.scores["es"].main_score > 5
    assert result.scores["ja"].main_score < result.scores["de"].main_score
