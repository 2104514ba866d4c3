"""FLORES-200 / FLORES+ and NTREX-128 bitext retrieval with LASER's xSIM (and xSIM++): where the files are.

FLORES-200 (the NLLB release, LASER's `flores200`): `{dev,devtest}/{code}.{split}`, codes like
`deu_Latn`. FLORES+ (openlanguagedata/flores releases): `{dev,devtest}/{split}.{code}`, codes
like `deu_Latn` or `apc_Arab_nort3139`. xSIM++'s augmented English, as LASER's
`tasks/xsimplusplus` downloads it: `{split}_augmented/eng_Latn_augmented.{split}` and
`eng_Latn_errtype.{split}.json` (also found in the split's own folder or the root).
NTREX-128: `newstest2019-ref.{code}.txt` (codes like `deu`, `fra-CA`, `eng-US`) against the
English source `newstest2019-src.eng.txt`. The scoring is `xsim_task.py`'s. FLORES from Hugging
Face (`--data-dir hf:openlanguagedata/flores_plus`, `hf:facebook/flores`): `hub_flores.py`.
"""

from __future__ import annotations

import re
from pathlib import Path

from xharness.errors import XharnessError
from xharness.tasks.hub_flores import FacebookFlores, FloresPlus
from xharness.tasks.languages import FLORES_CODE
from xharness.tasks.options import K, MARGIN, TaskOption
from xharness.tasks.xsim_task import DIRECTION, ERRORS_BY, XsimTask

SPLIT = TaskOption("split", str, "devtest", "FLORES split", choices=("dev", "devtest"))
_NTREX_REF = re.compile(r"^newstest2019-ref\.(?P<code>[a-z]{3}(-[A-Za-z]+)?)\.txt$")
NTREX_SOURCE = "newstest2019-src.eng.txt"


def _flores_names(folder: Path, split: str) -> dict[str, Path]:
    """Language files of one split folder, in either naming; a folder mixing both is refused."""
    old, new = {}, {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else ():
        name = path.name
        if name.endswith(f".{split}") and FLORES_CODE.match(name[: -len(split) - 1]):
            old[name[: -len(split) - 1]] = path
        elif name.startswith(f"{split}.") and FLORES_CODE.match(name[len(split) + 1:]):
            new[name[len(split) + 1:]] = path
    if old and new:
        raise XharnessError(f"{folder}: holds both FLORES-200 ({split} as suffix) and FLORES+ ({split} as prefix) file names; keep one release per folder")
    return old or new


class Flores(XsimTask):
    name = "flores"
    description = "FLORES-200 / FLORES+ bitext retrieval: LASER's xSIM error rate x100 against English (xSIM++ with the augmented English), lower is better"
    layout = ("{dev,devtest}/{code}.{split} (FLORES-200, e.g. flores200_dataset/) or {dev,devtest}/{split}.{code} (FLORES+); "
              "xSIM++: {split}_augmented/eng_Latn_augmented.{split} + eng_Latn_errtype.{split}.json")
    languages_note = "every language found (about 200), by FLORES code (deu_Latn) or a 2-/3-letter code where unambiguous"
    english_code = "eng_Latn"
    options = (K, MARGIN, SPLIT, DIRECTION, ERRORS_BY)
    hub_readers = (FloresPlus, FacebookFlores)

    def __init__(self, data_dir, *, limit=None, k=4, margin="ratio", split="devtest", direction="xx-en", errors_by="index") -> None:
        super().__init__(data_dir, limit=limit, k=k, margin=margin, direction=direction, errors_by=errors_by, split=split)
        self.split = split

    def _roots(self) -> list[Path]:
        root = self.data_dir
        return [root, root / "flores200_dataset", root / "flores200", *sorted(root.glob("floresp-*"))]

    def _root(self) -> Path:
        found = [r for r in self._roots() if _flores_names(r / self.split, self.split)]
        if len(found) > 1:
            raise XharnessError(f"{self.data_dir}: FLORES data in {len(found)} places ({', '.join(str(r) for r in found)}); point --data-dir at one")
        return found[0] if found else self.data_dir

    def find_files(self) -> dict[str, Path]:
        return _flores_names(self._root() / self.split, self.split)

    def hard_negative_files(self) -> tuple[Path, Path] | None:
        root, split = self._root(), self.split
        for folder in (root / f"{split}_augmented", root / split, root):
            aug = folder / f"eng_Latn_augmented.{split}"
            types = [folder / f"eng_Latn_errtype.{split}.json", folder / f"eng_Latn_errtype.{split}"]
            kinds = next((t for t in types if t.exists()), None)
            if aug.exists() and kinds is not None:
                return aug, kinds
            if aug.exists() or kinds is not None:
                missing = types[0] if kinds is None else aug
                raise XharnessError(f"{folder}: xSIM++ needs both the augmented English and its error types; {missing.name} is missing")
        return None


class Ntrex(XsimTask):
    name = "ntrex"
    description = "NTREX-128 bitext retrieval: LASER's xSIM error rate x100 against the English source, lower is better"
    layout = "newstest2019-ref.{code}.txt + newstest2019-src.eng.txt (NTREX-128/)"
    languages_note = "every reference found (128), by NTREX code (deu, fra-CA, eng-US) or a 2-/3-letter code where unambiguous"
    english_code = "eng"
    split = "newstest2019"
    options = (K, MARGIN, DIRECTION, ERRORS_BY)

    def find_files(self) -> dict[str, Path]:
        for folder in (self.data_dir, self.data_dir / "NTREX-128", self.data_dir / "NTREX" / "NTREX-128"):
            if not folder.is_dir():
                continue
            files = {m["code"]: p for p in sorted(folder.iterdir()) if (m := _NTREX_REF.match(p.name))}
            if files or (folder / NTREX_SOURCE).exists():
                if (folder / NTREX_SOURCE).exists():
                    files[self.english_code] = folder / NTREX_SOURCE
                return files
        return {}
