"""What the user wrote after `hf:` in `--data-dir`, taken apart: a hub id (with a revision and a configuration) or a local folder.

The grammar is `hf:OWNER/NAME[@REVISION][:CONFIG]` or `hf:FOLDER[:CONFIG]`; `xharness.hub_data` opens what it names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xharness.errors import XharnessError

PREFIX = "hf:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class HubReference:
    """What the user wrote after `hf:`, taken apart."""

    text: str  # the whole reference, as given (for messages and the result)
    path: str  # a hub id `owner/name`, or a local folder
    revision: str | None = None
    config: str | None = None

    @property
    def local(self) -> bool:
        return Path(self.path).expanduser().is_dir()

    @property
    def name(self) -> str:
        """The data set's hub name: the id itself, or the folder's last two parts (`mteb/tatoeba-bitext-mining`)."""
        if not self.local:
            return self.path
        parts = Path(self.path).expanduser().resolve().parts
        return "/".join(parts[-2:]) if len(parts) >= 2 else parts[-1]


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def parse_reference(value: str) -> HubReference:
    """`hf:OWNER/NAME[@REVISION][:CONFIG]` or `hf:PATH` (an existing folder) taken apart.

    Example:
        >>> parse_reference("hf:mteb/tatoeba-bitext-mining@v1:deu-eng")
        HubReference(text='hf:mteb/tatoeba-bitext-mining@v1:deu-eng', path='mteb/tatoeba-bitext-mining', revision='v1', config='deu-eng')
        >>> parse_reference("hf:google/xtreme").config is None
        True
    """
    body = value[len(PREFIX):] if value.startswith(PREFIX) else value
    if not body.strip():
        raise XharnessError(f"{value!r}: a dataset reference needs a name after 'hf:' (hf:OWNER/NAME[@REVISION][:CONFIG])")
    # A local folder is kept with `~` expanded: `datasets` is given this path and does not expand it.
    if Path(body).expanduser().is_dir():
        return HubReference(text=value, path=str(Path(body).expanduser()))
    folder, _, named = body.rpartition(":")
    if folder and named and Path(folder).expanduser().is_dir():  # hf:FOLDER:CONFIG, a local copy's configuration
        return HubReference(text=value, path=str(Path(folder).expanduser()), config=named)
    if Path(body).expanduser().exists() or (folder and Path(folder).expanduser().exists()):
        raise XharnessError(f"{value}: a file, not a folder (a local dataset must be a folder)")
    pinned, _, _ = body.partition("@")
    if "@" in body and Path(pinned).expanduser().is_dir():
        raise XharnessError(f"{value}: a local folder has no revisions; drop the '@...'")
    config = revision = None
    if ":" in body:
        body, config = body.split(":", 1)
    if "@" in body:
        body, revision = body.split("@", 1)
    if _HUB_ID.match(body) is None or (config is not None and not config) or (revision is not None and not revision):
        looks_local = body.startswith((".", "/", "~")) or os.sep in body.strip("/").replace("/", "", 1)
        if looks_local:
            raise XharnessError(f"{value}: no such folder (a local dataset must be an existing folder)")
        raise XharnessError(
            f"{value}: not a dataset reference; expected hf:OWNER/NAME, hf:OWNER/NAME@REVISION, hf:OWNER/NAME:CONFIG "
            "or hf:FOLDER"
        )
    return HubReference(text=value, path=body, revision=revision, config=config)
