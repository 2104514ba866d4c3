"""Property-based tests: random bytes and text through every loader and the result validator.

Either a clean XharnessError (one line) or a valid load; never another exception.
"""

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xharness.errors import XharnessError
from xharness.results import TaskResult, validate
from xharness.tasks.bucc import read_gold, read_id_sentences
from xharness.textfiles import decode_lines, read_lines

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def clean_or_ours(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except XharnessError as exc:
        assert "\n" not in str(exc), f"multi-line error: {exc!r}"
        return None


@FAST
@given(st.binary(max_size=400))
def test_decode_lines_random_bytes(data):
    lines = clean_or_ours(decode_lines, data, source="f")
    if lines is not None:
        assert all("\n" not in line and not line.endswith("\r") for line in lines)


@FAST
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8"))))
def test_read_lines_and_bucc_readers(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "f.txt"
    path.write_bytes(data)
    lines = clean_or_ours(read_lines, path)
    if lines is not None:
        assert lines and all(line.strip() for line in lines)
    corpus = clean_or_ours(read_id_sentences, path)
    if corpus is not None:
        assert len(corpus.ids) == len(set(corpus.ids)) == len(corpus.sentences)
        gold = clean_or_ours(read_gold, path, corpus, corpus)
        assert gold is None or isinstance(gold, frozenset)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(string.printable, max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(string.ascii_lowercase, max_size=10), children, max_size=5),
    max_leaves=25,
)

VALID = TaskResult(
    task={"name": "tatoeba", "version": "1", "main_metric": "accuracy"},
    model={"name": "m", "slug": "m", "adapter": "fake", "fingerprint": "f", "options": {}},
    config={}, scores={}, timing={"encode": 1.0},
).to_dict() | {"scores": {"de": {"main_score": 50.0, "accuracy": 50.0, "n": 2}}}


@FAST
@given(st.dictionaries(st.sampled_from(sorted(VALID) + ["extra", "layers"]), json_values, max_size=8))
def test_validator_on_random_structures(patch):
    data = {**VALID, **patch}
    if clean_or_ours(validate, data, source="r") is None:
        return
    # Whatever passes validation must load into a result and survive a round trip.
    result = TaskResult.from_dict(json.loads(json.dumps(data)), source="r")
    assert TaskResult.from_dict(result.to_dict()).scores == result.scores


@FAST
@given(st.binary(max_size=300))
def test_result_files_of_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_bytes(data)
    clean_or_ours(TaskResult.from_disk, path)


@FAST
@given(
    data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8"))),
    kind=st.sampled_from(["tsv-single", "tsv-pair", "jsonl"]),
)
def test_labelled_data_loaders(tmp_path_factory, data, kind):
    from xharness.tasks.labelled_data import LabelledData
    from xharness.tasks.labelled_readers import PAIR, SINGLE, Source

    folder = tmp_path_factory.mktemp("fuzz")
    suffix = "jsonl" if kind == "jsonl" else "tsv"
    path = folder / f"test-de.{suffix}"
    path.write_bytes(data)
    schema = PAIR if kind == "tsv-pair" else SINGLE
    loaded = LabelledData([Source("test", "de", path, suffix)], schema)
    examples = clean_or_ours(loaded.examples, "test", "de")
    if examples is not None:
        assert len(examples.labels) == len(examples.texts[0]) and all(examples.labels)


@FAST
@given(files=st.lists(st.tuples(st.sampled_from(["a/tatoeba.json", "b/bucc2018.json", "a/x.items.json", "c/.partial/t/de.json"]),
                                st.binary(max_size=200)), max_size=4))
def test_leaderboard_collector_on_random_folders(tmp_path_factory, files):
    from xharness.leaderboard.collect import collect

    root = tmp_path_factory.mktemp("fuzz-results")
    for name, data in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    clean_or_ours(collect, root)
    skipped = clean_or_ours(collect, root, skip_invalid=True)
    assert skipped is None or all(entry is not None for entry in skipped.entries)
