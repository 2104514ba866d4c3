"""The committed example leaderboard is what the demo's results regenerate, byte for byte."""

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "leaderboard" / "example"


@pytest.mark.slow
def test_committed_example_is_up_to_date(tmp_path):
    from xharness.demo.make_example import check, ensure_results

    results = tmp_path / "demo"
    ensure_results(results)  # runs the offline demo into a fresh folder
    stale = check(results, EXAMPLE)
    assert not stale, f"leaderboard/example is out of date ({', '.join(stale)}): run python -m xharness.demo.make_example"
