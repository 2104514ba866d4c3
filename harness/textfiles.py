"""Reading the text files users hand us: one clear error naming the file and line, or clean lines.

Accepted as harmless: a UTF-8 byte-order mark, any one line-ending convention (`\\n`, `\\r\\n`
or a lone `\\r`, old Mac style: each gives the same lines), trailing blank lines.
Refused: a missing file, a folder, anything that is not a regular file (a named pipe would
block, a device would be read without end), a file over `MAX_TEXT_BYTES`, an empty file, bytes
that are not UTF-8, a file that mixes line-ending conventions (a stray `\\r` inside a line of a
`\\n` file could be a line break or a character; guessing would shift an alignment), and blank
lines inside the file (they would silently shift or pad an alignment).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from xharness.errors import XharnessError

# Far above any evaluation corpus (BUCC's largest side is ~0.2 GB); a bigger "text file" is a mistake.
MAX_TEXT_BYTES = 4 << 30

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_ENDING = re.compile(rb"\r\n|\r|\n")
_ENDING_NAMES = {b"\n": "LF (\\n)", b"\r\n": "CRLF (\\r\\n)", b"\r": "CR (\\r)"}


def check_regular_file(path: Path, *, what: str = "a text file", max_bytes: int | None = MAX_TEXT_BYTES) -> os.stat_result:
    """The file's stat if `path` is a readable regular file of at most `max_bytes`; else one-line XharnessError."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise XharnessError(f"{path}: file not found") from None
    except OSError as exc:
        raise XharnessError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise XharnessError(f"{path}: is a folder, expected {what}")
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise XharnessError(f"{path}: is {kind}, expected {what} (only regular files are read)")
    if max_bytes is not None and info.st_size > max_bytes:
        raise XharnessError(f"{path}: is {info.st_size / 2**30:.1f} GiB, more than the {max_bytes / 2**30:.0f} GiB a text file may hold")
    return info


def read_bytes(path: Path, *, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """A regular file's bytes; pipes, devices and oversized files are refused before anything is read."""
    path = Path(path)
    check_regular_file(path, max_bytes=max_bytes)
    try:
        # O_NONBLOCK: if the path became a pipe since the check, opening it must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise XharnessError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise XharnessError(f"{path}: is not a regular file (only regular files are read)")
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise XharnessError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise XharnessError(f"{path}: holds more than the {max_bytes / 2**30:.0f} GiB a text file may hold")
    return data


def _split_lines(data: bytes, *, source: Path | str) -> list[bytes]:
    """Split on the file's one line-ending convention; a second convention is refused, naming its line."""
    first = None
    for number, match in enumerate(_ENDING.finditer(data), start=1):
        ending = match.group()
        if first is None:
            first = ending
        elif ending != first:
            raise XharnessError(
                f"{source}: line {number} ends in {_ENDING_NAMES[ending]} but line 1 ends in {_ENDING_NAMES[first]}; "
                "mixed line endings are refused (save the file with one convention)"
            )
    return data.split(first) if first is not None else [data]


def decode_lines(data: bytes, *, source: Path | str) -> list[str]:
    """Split UTF-8 `data` into lines, naming the first undecodable line in the error."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for number, raw in enumerate(_split_lines(data, source=source), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise XharnessError(
                f"{source}: line {number} is not valid UTF-8 (byte {exc.start + 1}: {raw[exc.start:exc.start + 1]!r})"
            ) from None
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


def read_sentence_lines(path: Path) -> tuple[list[str], bytes]:
    """A one-sentence-per-line file's lines, as they are, and its bytes; an empty file or a blank line is refused."""
    data = read_bytes(path)
    lines = decode_lines(data, source=path)
    if not lines:
        raise XharnessError(f"{path}: file is empty")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise XharnessError(f"{path}: line {number} is blank (every line must hold a sentence)")
    return lines, data
