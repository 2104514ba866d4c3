"""The leaderboard's HTML page in a real headless Chromium: it renders, sorts, filters, fetches nothing.

Chromium (Debian's `chromium` package) is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`), with a tiny client below: no extra Python dependency. The page
is opened from a file:// URL with network events on; every request must be the page itself.
Skipped, with the reason, when no Chromium binary is installed.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from test_leaderboard import HOSTILE, make_result, write
from xharness.cli import main
from xharness.results import LanguageScore


def _find_chromium() -> str | None:
    for name in (os.environ.get("XHARNESS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


CHROMIUM = _find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium binary (apt-get install chromium, or set XHARNESS_CHROMIUM)")

TIMEOUT = 30.0


class Browser:
    """Headless Chromium on a DevTools pipe: fd 3 carries our commands in, fd 4 its replies out (NUL-separated JSON)."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_fds() -> None:  # in the child, before exec: the pipe ends on the fds Chromium expects
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        args = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank",
        ]
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, pass_fds=(3, 4),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, *, session: bool = True) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == "Page.javascriptDialogOpening":
                # An alert() would block the page; record it (tests fail on it) and dismiss it.
                self.send("Page.handleJavaScriptDialog", {"accept": False})
            if event.get("method") == method:
                return event

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Network.enable", "Page.enable", "Runtime.enable"):
            self.send(domain)
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"page script error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def methods(self) -> set[str]:
        return {e.get("method") for e in self.events}

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass


def with_std(result, lang: str, std: float):
    """The result with a spread (`<main>_std`, as a probe's seeds give) for one language."""
    score = result.scores[lang]
    result.scores[lang] = LanguageScore(score.main_score, {**score.metrics, f"{result.main_metric}_std": std}, score.n)
    return result


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The leaderboard of a small folder, opened in Chromium (one browser for the module)."""
    root = tmp_path_factory.mktemp("browser")
    results = write(
        [
            # Averages 50 vs 55: beta first; without fr, alpha (90) leads beta (40).
            make_result("alpha", "tatoeba", {"de": 90.0, "fr": 10.0}),
            with_std(make_result("beta", "tatoeba", {"de": 40.0, "fr": 70.0}), "de", 2.5),
            make_result(HOSTILE, "tatoeba", {"de": 5.0, "fr": 6.0}),
            make_result('<img src="http://127.0.0.1:9/x.png">', "tatoeba", {"de": 1.0, "fr": 1.0}),
            make_result("alpha", "bucc2018", {"de": 60.0}, metric="f1"),
            make_result("beta", "bucc2018", {"de": 50.0}, metric="f1"),
        ],
        root / "results",
    )
    out = root / "site"
    result = CliRunner().invoke(main, ["leaderboard", str(results), "-o", str(out), "-f", "html"])
    assert result.exit_code == 0, result.output
    browser = Browser(root / "profile")
    try:
        browser.open((out / "leaderboard.html").as_uri())
        yield browser, (out / "leaderboard.html").as_uri()
    finally:
        browser.close()


def column(browser, table: str, cls: str) -> list:
    return browser.js(f"Array.from(document.querySelectorAll('{table} tbody tr')).map(r => r.querySelector('td.{cls}').textContent)")


def models(browser, table: str) -> list:
    return browser.js(f"Array.from(document.querySelectorAll('{table} tbody tr')).map(r => r.getAttribute('data-model'))")


TATOEBA = 'table.task-table[data-task="tatoeba"]'


def test_page_renders_its_tables_and_runs_its_script(page):
    browser, _ = page
    assert browser.js("document.documentElement.getAttribute('data-ready')") == "1"
    assert browser.js("document.querySelectorAll('table.task-table').length") == 2
    assert models(browser, TATOEBA) == ["beta", "alpha", HOSTILE, '<img src="http://127.0.0.1:9/x.png">']
    assert column(browser, TATOEBA, "avg") == ["55.00", "50.00", "5.50", "1.00"]
    assert browser.js("document.querySelectorAll('svg.bars rect.bar').length") == 6


def test_hostile_names_are_text_and_nothing_is_fetched(page):
    browser, url = page
    texts = browser.js(f"Array.from(document.querySelectorAll('{TATOEBA} td.model')).map(td => td.textContent)")
    assert HOSTILE in texts and '<img src="http://127.0.0.1:9/x.png">' in texts
    assert browser.js("document.querySelectorAll('img').length") == 0
    assert browser.js("document.scripts.length") == 1
    assert "Page.javascriptDialogOpening" not in browser.methods()
    assert browser.requests() == [url], browser.requests()


def test_clicking_a_header_sorts(page):
    browser, _ = page
    click = "document.querySelector('{} th[data-lang=\"de\"] button').click()".format(TATOEBA.replace("'", "\\'"))
    browser.js(click)
    assert models(browser, TATOEBA)[:2] == ["alpha", "beta"]  # highest de first
    assert browser.js(f"document.querySelector('{TATOEBA} th[data-lang=\"de\"]').getAttribute('aria-sort')") == "descending"
    browser.js(click)
    assert models(browser, TATOEBA)[0] == '<img src="http://127.0.0.1:9/x.png">'  # lowest de first
    browser.js(f"document.querySelectorAll('{TATOEBA} th button')[1].click()")  # model name, A to Z
    names = models(browser, TATOEBA)
    assert names == sorted(names)
    browser.js(f"document.querySelectorAll('{TATOEBA} th button')[0].click()")  # back to rank order
    assert models(browser, TATOEBA)[:2] == ["beta", "alpha"]


def test_language_filter_hides_columns_and_recomputes(page):
    browser, _ = page
    toggle = "document.querySelector('input.lang-toggle[value=\"fr\"]').click()"
    browser.js(toggle)
    hidden = browser.js(
        f"Array.from(document.querySelectorAll('{TATOEBA} [data-lang=\"fr\"]')).map(c => getComputedStyle(c).display)"
    )
    assert set(hidden) == {"none"}
    rows = browser.js(
        f"Array.from(document.querySelectorAll('{TATOEBA} tbody tr')).map(r => "
        "[r.getAttribute('data-model'), r.querySelector('td.rank').textContent, r.querySelector('td.avg').textContent])"
    )
    by_model = {m: (rank, avg) for m, rank, avg in rows}
    assert by_model["alpha"] == ("1", "90.00") and by_model["beta"] == ("2", "40.00")
    overview = browser.js(
        "Array.from(document.querySelectorAll('#overview-table tbody tr')).map(r => "
        "[r.getAttribute('data-model'), r.querySelector('td.rank').textContent, r.querySelector('td.avg').textContent])"
    )
    by_model = {m: (rank, avg) for m, rank, avg in overview}
    assert by_model["alpha"] == ("1", "75.00")  # (90 + 60) / 2
    assert by_model["beta"] == ("2", "45.00")  # (40 + 50) / 2
    browser.js("document.getElementById('langs-all').click()")
    assert column(browser, TATOEBA, "avg")[:2] in (["55.00", "50.00"], ["50.00", "55.00"])
    assert browser.js(f"getComputedStyle(document.querySelector('{TATOEBA} td[data-lang=\"fr\"]')).display") != "none"
    assert browser.requests() == [page[1]]


def test_cells_carry_n_and_the_legend_is_shown(page):
    browser, _ = page
    cell = f"document.querySelector('{TATOEBA} tr[data-model=\"alpha\"] td.lang-cell[data-lang=\"de\"]')"
    assert browser.js(f"{cell}.getAttribute('title')") == "n = 100"
    detail = f"{cell}.querySelector('.detail')"
    assert browser.js(f"getComputedStyle({detail}).display") == "none"
    browser.js("document.getElementById('show-details').click()")
    assert browser.js(f"getComputedStyle({detail}).display") != "none"
    assert "n=100" in browser.js(f"{cell}.innerText")
    # A score with a spread shows it: on hover, and in the cell with the toggle on.
    spread = f"document.querySelector('{TATOEBA} tr[data-model=\"beta\"] td.lang-cell[data-lang=\"de\"]')"
    assert browser.js(f"{spread}.getAttribute('title')") == "n = 100; ± 2.50 (std over seeds)"
    assert "40.00 n=100 ±2.50" in browser.js(f"{spread}.innerText")
    browser.js("document.getElementById('show-details').click()")
    assert "±" not in browser.js(f"{spread}.innerText")
    legend = browser.js("Array.from(document.querySelectorAll('section.task .legend')).map(l => l.getBoundingClientRect().width > 0)")
    assert legend == [True, True]
    text = browser.js(f"document.querySelector('section.task[data-task=\"tatoeba\"] .legend').innerText")
    assert "1.00" in text and "90.00" in text  # tatoeba's range: lowest to highest score
    # viridis-like: the lowest score is dark blue, not red
    assert browser.js(f"getComputedStyle(document.querySelector('{TATOEBA} tr[data-model=\"alpha\"] td[data-lang=\"de\"]')).backgroundColor") == "rgb(253, 231, 37)"
