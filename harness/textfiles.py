"""Reading the text files users hand us: one clear error naming the file and line, or clean lines.

Accepted as harmless: a UTF-8 byte-order mark, Windows line endings, trailing blank lines.
Refused: a missing file, a folder, an empty file, bytes that are not UTF-8, blank lines
inside the file (they would silently shift or pad an alignment).
"""

from __future__ import annotations

from pathlib import Path

from xharness.errors import XharnessError


def read_bytes(path: Path) -> bytes:
    path = Path(path)
    if not path.exists():
        raise XharnessError(f"{path}: file not found")
    if path.is_dir():
        raise XharnessError(f"{path}: is a folder, expected a text file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise XharnessError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def decode_lines(data: bytes, *, source: Path | str) -> list[str]:
    """Split UTF-8 `data` into lines, naming the first undecodable line in the error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw_lines = data.split(b"\n")
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise XharnessError(
                f"{source}: line {number} is not valid UTF-8 (byte {exc.start + 1}: {raw[exc.start:exc.start + 1]!r})"
            ) from None
        lines.append(line[:-1] if line.endswith("\r") else line)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_lines(path: Path, *, allow_blank: bool = False) -> list[str]:
    """The lines of a UTF-8 text file, without line endings; see the module docstring for checks."""
    path = Path(path)
    lines = decode_lines(read_bytes(path), source=path)
    if not lines:
        raise XharnessError(f"{path}: file is empty")
    if not allow_blank:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                raise XharnessError(f"{path}: line {number} is blank (every line must hold a sentence)")
    return lines

