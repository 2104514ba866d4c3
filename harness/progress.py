"""Progress on stderr, wherever a run goes: a live bar on a terminal, timestamped lines in a log.

`ProgressLog` gives `runner.Reporter` its callbacks. Encoding is reported per phase (a task and
language, `encoding tatoeba de`): the embedding hook (`harness/embedding.py`) opens one handle
per call, and consecutive calls of one phase (Tatoeba's English and German sides, a probe's
training and test sentences) add to one bar. A large search (Mewsli-X, LAReQA, BUCC's mining) is
a phase of its own, `search mewslix de`, counted in queries. Every phase shows its rate and an estimate
of the time left. Modes:

- `bar` (stderr is a terminal): one line redrawn in place, `encoding tatoeba de (1 000
  sentences) 45% 120 sentences/s, 5s left`, ended when the phase ends;
- `text` (stderr is a file or a pipe): `2026-12-02T01:50:00Z encoding tatoeba de: 450/1 000
  sentences (45%), 120 sentences/s, 5s left` when a phase starts, every `interval` seconds
  while it runs (from a timer thread, so a long block still reports), and when it ends;
- `json`: the same events as one JSON object a line (`--log-format json`);
- `quiet`: only errors (`--quiet`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from typing import IO, Any, Callable

from xharness.table import printable

DEFAULT_INTERVAL = 10.0  # seconds between progress lines when stderr is not a terminal
MODES = ("bar", "text", "json", "quiet")


def count(n: int) -> str:
    """`1 000`: thousands apart by a space, as in the tables.

    >>> count(1000), count(12)
    ('1 000', '12')
    """
    return f"{n:,}".replace(",", " ")


def duration(seconds: float) -> str:
    """A short time span: `42s`, `3m05s`, `2h07m`.

    >>> duration(42.4), duration(185), duration(7620)
    ('42s', '3m05s', '2h07m')
    """
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Phase:
    def __init__(self, kind: str, label: str) -> None:
        self.kind = kind  # "encoding" or "search"
        self.unit = "sentences" if kind == "encoding" else "queries"
        self.label = label
        self.total = 0
        self.done = 0
        self.started = time.perf_counter()

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def left(self) -> float | None:
        """Seconds left at the current rate; None before anything is done."""
        rate = self.rate()
        return max(self.total - self.done, 0) / rate if rate > 0 else None


class _Handle:
    """What the embedding hook gets for one encode call: `advance(n)` and `close()`."""

    def __init__(self, log: "ProgressLog") -> None:
        self._log = log

    def advance(self, n: int) -> None:
        self._log._advance(n)

    def close(self) -> None:
        self._log._close_call()


class ProgressLog:
    """Progress and messages of one run on `stream` (stderr), in one of MODES."""

    def __init__(self, mode: str | None = None, *, stream: IO[str] | None = None, interval: float | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode is None:
            mode = "bar" if _isatty(self.stream) else "text"
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        env = os.environ.get("XHARNESS_PROGRESS_INTERVAL")
        self.interval = interval if interval is not None else (float(env) if env else DEFAULT_INTERVAL)
        self._phase: _Phase | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    # -- what runner.Reporter calls ------------------------------------------------------------

    def message(self, text: str) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            self._end_bar_line()
            self._emit({"event": "message", "message": text}, text)

    def language_done(self, task: str, lang: str, score: Any, seconds: float) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            self._finish_phase()
            text = f"{task} {lang}: {score.main_score:.2f} (n={score.n}, {seconds:.1f}s)"
            self._emit({"event": "language_done", "task": task, "language": lang, "main_score": score.main_score,
                        "n": score.n, "seconds": round(seconds, 3)}, ("  " if self.mode == "bar" else "") + text)

    def progress(self, label: str, total: int) -> _Handle:
        """The embedding hook: a call of `label` with `total` texts to encode."""
        return self._open("encoding", label, total)

    def search(self, label: str, total: int) -> _Handle:
        """The search hook: `label` searches for `total` queries (advanced in queries as blocks finish)."""
        return self._open("search", label, total)

    def _open(self, kind: str, label: str, total: int) -> _Handle:
        with self._lock:
            if self._phase is None or (self._phase.kind, self._phase.label) != (kind, label):
                self._finish_phase()
                self._phase = _Phase(kind, label)
                self._phase.total = total
                self._report("start")
                self._start_timer()
            else:
                self._phase.total += total
                self._report("grow")
        return _Handle(self)

    def close(self, *, finished: bool = True) -> None:
        """End the open phase: the run is over (`finished`), or stopped by an error (then said so, never `done`)."""
        with self._lock:
            if finished:
                self._finish_phase()
            elif self._phase is not None:
                self._report("stopped")
                self._end_bar_line()
                self._phase = None
        self._stop.set()

    # -- internals -------------------------------------------------------------------------------

    def _advance(self, n: int) -> None:
        with self._lock:
            if self._phase is not None:
                self._phase.done += n
                if self.mode == "bar":
                    self._draw()

    def _close_call(self) -> None:
        # A phase stays open across calls; it ends when another starts, its language is done, or the run ends.
        with self._lock:
            if self.mode == "bar" and self._phase is not None:
                self._draw()

    def _finish_phase(self) -> None:
        if self._phase is None:
            return
        self._report("end")
        self._end_bar_line()
        self._phase = None

    def _status(self, phase: _Phase, *, final: bool = False) -> str:
        pct = 100.0 * phase.done / phase.total if phase.total else 100.0
        return f"{count(phase.done)}/{count(phase.total)} {phase.unit} ({pct:.0f}%), {self._speed(phase, final=final)}"

    @staticmethod
    def _speed(phase: _Phase, *, final: bool = False) -> str:
        left = phase.left()
        text = f"{phase.rate():.0f} {phase.unit}/s"
        return text if final or left is None or phase.done >= phase.total else f"{text}, {duration(left)} left"

    def _report(self, event: str) -> None:
        phase = self._phase
        if phase is None or self.mode == "quiet":
            return
        if self.mode == "bar":
            self._draw()
            return
        if event == "grow":
            return
        left = phase.left()
        record = {"event": f"{phase.kind}_{event}", "phase": f"{phase.kind} {phase.label}", "done": phase.done,
                  "total": phase.total, f"{phase.unit}_per_s": round(phase.rate(), 1),
                  "seconds_left": None if left is None else round(left, 1)}
        final = event in ("end", "stopped")
        text = f"{phase.kind} {phase.label}: {self._status(phase, final=final)}" + {"end": " done", "stopped": " stopped"}.get(event, "")
        self._emit(record, text)

    def _draw(self) -> None:
        phase = self._phase
        if phase is None:
            return
        width = 24
        filled = int(width * phase.done / phase.total) if phase.total else width
        bar = "#" * filled + "-" * (width - filled)
        pct = 100.0 * phase.done / phase.total if phase.total else 100.0
        line = (f"{phase.kind} {printable(phase.label)} ({count(phase.total)} {phase.unit}) [{bar}] {pct:3.0f}% "
                f"{self._speed(phase)}")
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self._bar_open = True

    def _end_bar_line(self) -> None:
        if self.mode == "bar" and getattr(self, "_bar_open", False):
            self.stream.write("\n")
            self.stream.flush()
            self._bar_open = False

    def _emit(self, record: dict[str, Any], text: str) -> None:
        if self.mode == "json":
            self.stream.write(json.dumps({"time": _now(), **record}, ensure_ascii=False) + "\n")
        elif self.mode == "text":
            self.stream.write(f"{_now()} {printable(text)}\n")
        else:
            self.stream.write(printable(text) + "\n")  # a name from a file must not move a terminal's cursor
        self.stream.flush()

    def _start_timer(self) -> None:
        if self.mode not in ("text", "json") or self._timer is not None:
            return

        def tick() -> None:
            while not self._stop.wait(self.interval):
                with self._lock:
                    if self._phase is not None:
                        self._report("progress")

        self._timer = threading.Thread(target=tick, name="xharness-progress", daemon=True)
        self._timer.start()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def reporter_for(mode: str | None = None, *, stream: IO[str] | None = None) -> tuple[Any, Callable[..., None]]:
    """A `runner.Reporter` writing through a new ProgressLog, and the function that ends it."""
    from xharness.runner import Reporter

    log = ProgressLog(mode, stream=stream)
    return Reporter(message=log.message, progress=log.progress, search=log.search, language_done=log.language_done), log.close
