"""The one exception type for user errors: bad input, an unloadable model, a bad option.

The CLI catches it once and prints its message as a single line on stderr (exit code 2).
Anything else that escapes is a bug and may show its traceback. Something the run survives
(a cache it cannot write, a damaged cache shard) is `warn`ed about, one line on stderr.
"""

import sys


class XharnessError(Exception):
    """A problem with what the user gave us, explained in one line."""


_WARNED: set[str] = set()


def warn(message: str, *, once: str | None = None) -> None:
    """One line on stderr, `xharness: warning: ...`; the run goes on. Only the first with a given `once` key is shown."""
    if once is not None:
        if once in _WARNED:
            return
        _WARNED.add(once)
    print(f"xharness: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
