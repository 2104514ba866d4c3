"""Result files: round trip, validation of malformed and future files, atomic writes."""

import json

import pytest

from xharness.errors import XharnessError
from xharness.results import SCHEMA_VERSION, LanguageScore, TaskResult, load_items, model_slug


def make_result():
    return TaskResult(
        task={"name": "tatoeba", "version": "1", "main_metric": "accuracy", "split": "test"},
        model={"name": "My Model", "slug": "my-model", "adapter": "fake", "fingerprint": "abc", "options": {}},
        config={"batch_size": 8},
        scores={"de": LanguageScore(main_score=97.5, metrics={"accuracy": 97.5, "accuracy_xx2en": 96.0}, n=40)},
        timing={"encode": 1.5},
        items={"de": {"predicted": [0, 1], "correct": [1, 1]}},
    )


def test_round_trip(tmp_path):
    result = make_result()
    path = result.to_disk(tmp_path)
    assert path == tmp_path / "my-model" / "tatoeba.json"
    loaded = TaskResult.from_disk(path)
    assert loaded.scores == result.scores
    assert loaded.task == result.task and loaded.model == result.model
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["scores"]["de"] == {"main_score": 97.5, "accuracy": 97.5, "accuracy_xx2en": 96.0, "n": 40}
    assert data["items_file"] == "tatoeba.items.json"
    assert load_items(path)["de"]["correct"] == [1, 1]
    assert sorted(p.name for p in path.parent.iterdir()) == ["tatoeba.items.json", "tatoeba.json"]  # no temp files


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "newer than this xharness"),
        (lambda d: d.pop("schema_version"), "schema_version"),
        (lambda d: d.pop("task"), "missing field 'task'"),
        (lambda d: d["model"].pop("fingerprint"), "model.fingerprint"),
        (lambda d: d["scores"]["de"].update(main_score="high"), "main_score"),
        (lambda d: d["scores"]["de"].update(n=-1), r"\.n"),
        (lambda d: d.update(scores={}), "'scores' is empty"),
        (lambda d: d["timing"].update(encode=True), "timing"),
    ],
)
def test_malformed_results_are_named(tmp_path, edit, message):
    data = make_result().to_dict()
    edit(data)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(XharnessError, match=message) as info:
        TaskResult.from_disk(path)
    assert str(path) in str(info.value)


def test_truncated_and_non_json_files(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(make_result().to_dict())[:50])
    with pytest.raises(XharnessError, match="not valid JSON"):
        TaskResult.from_disk(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(XharnessError, match="UTF-8"):
        TaskResult.from_disk(path)
    with pytest.raises(XharnessError, match="not found"):
        TaskResult.from_disk(tmp_path / "none.json")


def test_model_slug():
    assert model_slug("all-MiniLM-L6-v2") == "all-minilm-l6-v2"
    assert model_slug("xlm-roberta/large (MNLI)") == "xlm-roberta-large-mnli"
    assert model_slug("///") == "model"
