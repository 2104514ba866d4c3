"""Small things a new user tripped over: the mean row's n, plurals, model names in `cache info`."""

from __future__ import annotations

from click.testing import CliRunner

from fakes import CharNgramAdapter
from xharness.cache import EmbeddingCache, cache_summary
from xharness.cli import main
from xharness.results import LanguageScore, TaskResult
from xharness.table import plural, result_table


def test_the_mean_row_does_not_sum_n():
    result = TaskResult(
        task={"name": "tatoeba", "main_metric": "accuracy"},
        model={"name": "m"},
        config={},
        scores={
            "de": LanguageScore(main_score=50.0, metrics={"accuracy": 50.0}, n=1000),
            "fr": LanguageScore(main_score=70.0, metrics={"accuracy": 70.0}, n=194),
        },
        timing={},
    )
    mean = result_table(result).splitlines()[-1].split()
    assert mean == ["mean", "-", "60.00"]


def test_plural():
    assert plural(1, "language") == "1 language" and plural(2, "language") == "2 languages"


def test_cache_info_names_the_models(tmp_path):
    adapter = CharNgramAdapter(8)
    cache = EmbeddingCache(adapter.fingerprint, root=tmp_path, model={"name": "my-model", "kind": "fake"})
    cache.put(["a", "b"], adapter.encode(["a", "b"]))
    EmbeddingCache(adapter.fingerprint, root=tmp_path, model={"name": "copy-of-it", "kind": "fake"}).put(["c"], adapter.encode(["c"]))
    assert cache_summary(tmp_path)[0]["models"] == ["my-model", "copy-of-it"]
    out = CliRunner().invoke(main, ["cache", "info", "--cache-dir", str(tmp_path)])
    assert out.exit_code == 0 and "my-model, copy-of-it" in out.output
