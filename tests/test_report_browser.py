"""The report's HTML page in headless Chromium: heatmap cells present, colours diverging around
zero, significant cells marked, hostile names shown as text, nothing fetched, no script run.

Uses the DevTools-pipe client of test_leaderboard_browser; skipped when no Chromium is installed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from test_compare import pattern, tatoeba
from test_leaderboard import HOSTILE
from test_leaderboard_browser import CHROMIUM, Browser
from xharness.cli import main

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (apt-get install chromium, or set XHARNESS_CHROMIUM)")

IMG = '<img src="http://127.0.0.1:9/x.png" onerror="alert(1)">'


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-browser")
    results = root / "results"
    base = {"de": pattern(100, 50), "fr": pattern(100, 50), "ja": pattern(100, 50)}
    tatoeba("base", base).to_disk(results)
    tatoeba("gain", {"de": pattern(100, 80), "fr": pattern(100, 50), "ja": pattern(100, 60)}).to_disk(results)  # +30, 0, +10
    tatoeba(HOSTILE, {"de": pattern(100, 20), "fr": pattern(100, 50), "ja": pattern(100, 45)}).to_disk(results)  # -30, 0, -5
    tatoeba(IMG, {"de": pattern(100, 50), "fr": pattern(100, 50)}).to_disk(results)  # no ja
    tatoeba("base", {"de": pattern(40, 20)}, task="classify", protocol={"seeds": [0]}).to_disk(results)
    tatoeba("gain", {"de": pattern(40, 30)}, task="classify", protocol={"seeds": [0]}).to_disk(results)
    out = root / "site"
    result = CliRunner().invoke(main, ["report", str(results), "--baseline", "base", "-o", str(out), "-f", "html",
                                       "--figures", "none", "--resamples", "2000"])
    assert result.exit_code == 0, result.output
    browser = Browser(root / "profile")
    try:
        url = (out / "report.html").as_uri()
        browser.open(url)
        yield browser, url
    finally:
        browser.close()


TATOEBA = 'section.task[data-task="tatoeba"] svg.heatmap'


def cells(browser, svg: str) -> list:
    """[row, column, delta, classes, computed fill as [r, g, b]] of every cell of one heatmap."""
    return browser.js(
        f"Array.from(document.querySelectorAll('{svg} g.cell')).map(g => ["
        "g.getAttribute('data-row'), g.getAttribute('data-col'), g.getAttribute('data-delta'), g.getAttribute('class'),"
        "getComputedStyle(g.querySelector('rect')).fill.match(/\\d+/g).map(Number)])"
    )


def test_every_heatmap_and_cell_is_there(page):
    browser, _ = page
    assert browser.js("document.querySelectorAll('svg.heatmap').length") == 3  # overview, classify, tatoeba
    tat = cells(browser, TATOEBA)
    assert len(tat) == 3 * 3  # three checkpoints x de, fr, ja
    assert {(r, c) for r, c, *_ in tat} == {(m, lang) for m in ("gain", HOSTILE, IMG) for lang in ("de", "fr", "ja")}
    missing = [x for x in tat if x[0] == IMG and x[1] == "ja"]
    assert missing[0][2] == "" and "missing" in missing[0][3]
    overview = cells(browser, "#summary svg.heatmap")
    assert {(r, c) for r, c, *_ in overview} == {(m, t) for m in ("gain", HOSTILE, IMG) for t in ("classify", "tatoeba")}


def test_colours_diverge_around_zero(page):
    browser, _ = page
    by_cell = {(r, c): (float(d) if d else None, cls, rgb) for r, c, d, cls, rgb in cells(browser, TATOEBA)}
    gain, loss, zero = by_cell[("gain", "de")], by_cell[(HOSTILE, "de")], by_cell[("gain", "fr")]
    assert (gain[0], loss[0], zero[0]) == (30.0, -30.0, 0.0)
    r, g, b = gain[2]
    assert b > r + 100  # blue for a gain
    r, g, b = loss[2]
    assert r > b + 100  # red for a loss
    assert max(zero[2]) - min(zero[2]) < 8 and min(zero[2]) > 230  # near white at zero
    # Symmetric: +30 and -30 are equally far from white.
    assert abs(sum(255 - v for v in by_cell[("gain", "de")][2]) - sum(255 - v for v in by_cell[(HOSTILE, "de")][2])) < 150
    # Smaller gains are paler.
    assert by_cell[("gain", "ja")][2][0] > by_cell[("gain", "de")][2][0]


def test_significant_cells_are_marked(page):
    browser, _ = page
    by_cell = {(r, c): cls.split() for r, c, _, cls, _ in cells(browser, TATOEBA)}
    assert "sig" in by_cell[("gain", "de")] and "sig" in by_cell[(HOSTILE, "de")]
    assert "sig" not in by_cell[("gain", "fr")]  # identical outcomes
    stroke = browser.js(f"getComputedStyle(document.querySelector('{TATOEBA} g.cell.sig rect')).stroke")
    assert stroke not in ("none", "")
    text = browser.js(f"document.querySelector('{TATOEBA} g.cell.sig text').textContent")
    assert text.endswith("*")


def test_hostile_names_are_text_and_nothing_is_fetched_or_run(page):
    browser, url = page
    rows = browser.js(f"Array.from(document.querySelectorAll('{TATOEBA} text.row title')).map(t => t.textContent)")
    assert HOSTILE in rows and IMG in rows
    table = browser.js("Array.from(document.querySelectorAll('table.summary td')).map(td => td.textContent)")
    assert HOSTILE in table and IMG in table
    assert browser.js("document.querySelectorAll('img').length") == 0
    assert browser.js("document.scripts.length") == 0
    assert "Page.javascriptDialogOpening" not in browser.methods()
    assert browser.requests() == [url], browser.requests()
    csp = browser.js("document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")
    assert "default-src 'none'" in csp and "script-src 'none'" in csp


def test_the_page_says_which_adjustment_was_used(page):
    browser, _ = page
    text = browser.js("document.querySelector('header').textContent")
    assert "Holm-Bonferroni" in text and "--adjust holm" in text
