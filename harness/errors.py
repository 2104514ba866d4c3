"""The one exception type for user errors: bad input, an unloadable model, a bad option.

The CLI catches it once and prints its message as a single line on stderr (exit code 2).
Anything else that escapes is a bug and may show its traceback.
"""


class XharnessError(Exception):
    """A problem with what the user gave us, explained in one line."""
