"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader never sees half a file, and an interrupted write leaves the old file (or none).
A write the environment refuses (no such folder, a file where a folder should be, a name too
long, a full disk, no permission) is one XharnessError naming the path and the cause, and
leaves no temporary file behind. Files get the mode any file the user writes gets (0666
less the umask), not mkstemp's private 0600. JSON never holds NaN or Infinity.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from xharness.errors import XharnessError

_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOTDIR: "a path component is a file, not a folder",
    errno.EISDIR: "is a folder",
}


def _umask() -> int:
    try:  # Linux says it without changing it (os.umask would, briefly, for every thread)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_error(path: Path, exc: OSError) -> XharnessError:
    """One line naming the path that could not be written and why."""
    cause = _CAUSES.get(exc.errno) or exc.strerror or str(exc)
    return XharnessError(f"{path}: cannot be written: {cause}")


def check_writable(path: Path, *, folder: bool = False) -> None:
    """Refuse, before any long work, a path the write would fail on: a folder where a file goes (or
    a file where a folder goes, with `folder`), a file where a parent folder goes, a name too long,
    a parent that cannot be written. Missing folders are fine: the writers make them."""
    path = Path(path)
    for part in path.absolute().parts[1:]:
        if len(os.fsencode(part)) > 255:
            raise XharnessError(f"{path}: cannot be written: file name too long ({len(os.fsencode(part))} bytes, at most 255)")
    if not folder and path.is_dir():
        raise XharnessError(f"{path}: is a folder; -o/--out names the file to write")
    if folder and path.exists() and not path.is_dir():
        raise XharnessError(f"{path}: is a file; -o/--out names a folder to write into")
    parent = path.absolute().parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise XharnessError(f"{path}: cannot be written: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise XharnessError(f"{path}: cannot be written: {parent} is not writable")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = None
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_text(payload: Any) -> str:
    """The JSON every xharness file holds: indented, UTF-8, and never NaN or Infinity (ValueError)."""
    return json.dumps(payload, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json_text(payload))
