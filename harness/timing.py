"""Phase timing: `with timer.phase("encode"):` adds the elapsed seconds to that phase."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class PhaseTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def rounded(self, digits: int = 4) -> dict[str, float]:
        return {name: round(value, digits) for name, value in self.seconds.items()}
