"""What an adapter may be asked to change: one frozen object, built once by the CLI, passed through unchanged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AdapterOptions:
    pooling: str | None = None
    layer: int | None = None
    max_length: int | None = None
    dtype: str | None = None
    device: str | None = None
    max_tokens: int | None = None
    trust_remote_code: bool = False

    def given(self) -> dict[str, Any]:
        """Only the options the user set."""
        return {key: value for key, value in asdict(self).items() if value is not None and value is not False}
