"""The committed example's generator (`python -m xharness.demo.make_example`): what it writes and what `--check` finds."""

import pytest

from test_leaderboard import make_result, write
from xharness.demo.make_example import check, generate


@pytest.fixture
def demo_results(tmp_path):
    """Two models' Tatoeba results shaped like the demo's: the English-only one and the multilingual one."""
    items = {"de": {"correct": [1, 0, 0, 0]}, "fr": {"correct": [1, 1, 0, 0]}}
    better = {"de": {"correct": [1, 1, 1, 0]}, "fr": {"correct": [1, 1, 1, 1]}}
    return write(
        [
            make_result("all-MiniLM-L6-v2", "tatoeba", {"de": 25.0, "fr": 50.0}, items=items, n=4),
            make_result("usem3", "tatoeba", {"de": 75.0, "fr": 100.0}, items=better, n=4),
        ],
        tmp_path / "demo",
    )


def test_example_generator_writes_and_checks(demo_results, tmp_path):
    results = demo_results
    out = tmp_path / "example"
    names = sorted(p.name for p in generate(results, out))
    assert names == [
        "README.md", "compare.md", "leaderboard.csv", "leaderboard.html", "leaderboard.json", "leaderboard.md",
        "names.json", "report-task-tatoeba.png", "report-task-tatoeba.svg", "report-tasks.png", "report-tasks.svg",
        "report.html", "report.json", "report.md",
    ]
    compare_md = (out / "compare.md").read_text()
    assert "- A: all-MiniLM-L6-v2 (all-minilm-l6-v2)" in compare_md and "| tatoeba | fr | 4 | 50.00 | 100.00 | +50.00 |" in compare_md
    assert check(results, out) == []
    (out / "leaderboard.md").write_text("edited by hand\n")
    (out / "stray.txt").write_text("x")
    assert check(results, out) == ["leaderboard.md", "stray.txt"]


def test_example_generator_adds_the_report(demo_results, tmp_path):
    results = demo_results
    out = tmp_path / "example"
    generate(results, out)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Baseline: **MiniLM-L6 (English)** (all-minilm-l6-v2)" in md
    assert "| USE multilingual | QA, translation ranking, NLI (16 languages) | +50.00" in md
    assert check(results, out) == []
    (out / "report-tasks.svg").write_text("edited by hand\n")
    assert check(results, out) == ["report-tasks.svg"]
