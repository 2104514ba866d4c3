"""The demo topic-classification builder: its rules on hand-made strings and corpora, and a real build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xharness.demo import topics
from xharness.demo.topic_rules import SCRIPTS, check_file, clean, in_script, reads_as_english, split_english, topic_of, unambiguous, words
from xharness.demo.topics import LANGUAGE_FOLDERS, build_demo_topics
from xharness.errors import XharnessError
from xharness.tasks.classification import Classify

pytest.importorskip("yaml")


# ---------------------------------------------------------------------------------------------
# Rules on strings.


def test_clean_and_words():
    assert clean("  Hello,\n  how\tare you? ") == "Hello, how are you?"
    assert words("Don't stop — 42 Straße!") == ["don't", "stop", "strasse"]


def test_topic_of_maps_translated_file_names():
    assert topic_of(Path("spanish/dinero.yml")) == "money"
    assert topic_of(Path("spanish/IA.yml")) == "ai"
    assert topic_of(Path("persian/profile.yml")) == "botprofile"
    assert topic_of(Path("german/food.yml")) == "food"


def test_in_script():
    assert in_script("Как дела?", SCRIPTS["ru"])
    assert in_script("Linux — лучшая система", SCRIPTS["ru"])  # mostly Cyrillic letters
    assert not in_script("I'm fine. Thank you, and you?", SCRIPTS["ko"])
    assert not in_script("1963", SCRIPTS["zh"])  # no letters at all
    assert in_script("私はPythonが好き", SCRIPTS["ja"]) is False  # 6 Latin letters against 5 Japanese


def test_reads_as_english():
    vocabulary = set(words("a secret society that has existed for centuries what is your name"))
    assert reads_as_english("A secret society that has existed for centuries.", vocabulary)
    assert not reads_as_english("Una società segreta che esiste da secoli.", vocabulary)
    assert not reads_as_english("What is?", vocabulary)  # fewer than 3 words: no verdict


def test_check_file_drops_untranslated_lines_and_rejects_an_english_file():
    english = {"hello", "how are you?", "what is your name?"}
    vocabulary = set(words("hello how are you what is your name i am fine thanks"))
    partly = check_file(["Hallo", "Wie geht es dir?", "How are you?"], lang="de", english_lines=english, english_vocabulary=vocabulary)
    assert partly.rejected is None and partly.kept == ["Hallo", "Wie geht es dir?"] and partly.dropped == {"untranslated": 1}
    english_file = check_file(
        ["Hello", "How are you?", "I am fine thanks", "Hej"], lang="sv", english_lines=english, english_vocabulary=vocabulary
    )
    assert english_file.kept == [] and "3 of 4 lines failed" in english_file.rejected
    assert english_file.dropped == {"untranslated": 2, "reads as English": 1}
    ascii_lines = check_file(["Привет", "Hi there", "See you"], lang="ru", english_lines=english, english_vocabulary=vocabulary)
    assert ascii_lines.rejected is not None and ascii_lines.dropped == {"wrong script": 2}


def test_unambiguous_and_english_split():
    topics = unambiguous({"greetings": {"Hi", "Hello"}, "conversations": {"Hi", "Nice weather"}})
    assert topics == {"conversations": ["Nice weather"], "greetings": ["Hello"]}
    lines = [f"line {i}" for i in range(10)]
    splits = split_english({"a": lines, "b": lines[:3]})
    counts = {name: sum(1 for _, label in rows if label == "a") for name, rows in splits.items()}
    assert counts == {"train": 6, "dev": 2, "test": 2}
    # Three lines still give one test and one dev line.
    assert [sum(1 for _, label in rows if label == "b") for rows in splits.values()] == [1, 1, 1]
    assert split_english({"a": lines, "b": lines[:3]}) == splits
    every = sorted(text for rows in splits.values() for text, label in rows if label == "a")
    assert every == sorted(lines)


# ---------------------------------------------------------------------------------------------
# Builds from a hand-made corpus.


def yml(lines_per_conversation):
    out = ["categories:", "- whatever", "conversations:"]
    for conversation in lines_per_conversation:
        first, *rest = conversation
        out.append(f"- - {json.dumps(first, ensure_ascii=False)}")
        out += [f"  - {json.dumps(line, ensure_ascii=False)}" for line in rest]
    return "\n".join(out) + "\n"


def make_corpus(root: Path) -> Path:
    data = root / "chatterbot_corpus" / "data"
    files = {
        "english/greetings.yml": [["Hello there my friend", "Good morning to you"], ["How are you doing today?", "Yes"]],
        "english/food.yml": [["Do you like pizza?", "I love pasta with cheese"], ["What is your favourite fruit?", "Bananas are tasty"]],
        "english/money.yml": [["Where is the bank?", "Money is not everything"], ["How much does it cost?", "Too much for me"]],
        "english/health.yml": [["Eat well"]],  # one line: too small to be a topic
        "german/greetings.yml": [["Hallo mein Freund", "Guten Morgen"], ["Wie geht es dir heute?", "Yes"]],
        "german/food.yml": [["Magst du Pizza?", "Ich liebe Nudeln mit Käse"], ["Bananen sind lecker", "Do you like pizza?"]],
        "german/health.yml": [["Iss gut"]],
        "german/music.yml": [["Ich mag Musik"]],
        "swedish/greetings.yml": [["Hello there my friend", "Good morning to you"], ["How are you doing today?", "Hej"]],
        "swedish/food.yml": [["Gillar du pizza?", "Jag älskar pasta"], ["Bananer är goda", "Vad är din favoritfrukt?"]],
        "swedish/money.yml": [["Var är banken?", "Pengar är inte allt"]],
        "russian/greetings.yml": [["Привет, мой друг", "Доброе утро"], ["Hi there", "Как дела сегодня?"]],
        "russian/dinero.yml": [["Где банк?", "Деньги это не всё"], ["Сколько это стоит?", "Слишком дорого"]],
        "hinglish/greetings.yml": [["Kaise ho dost?", "Main theek hoon"]],
    }
    for name, conversations in files.items():
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yml(conversations), encoding="utf-8")
    return data


@pytest.fixture
def fake_corpus(tmp_path, monkeypatch):
    data = make_corpus(tmp_path / "pkg")
    monkeypatch.setattr(topics, "locate_corpus", lambda: (data, "0.0-test"))
    return data


def read_tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def test_build_from_a_small_corpus(tmp_path, fake_corpus):
    out = build_demo_topics(tmp_path / "topics", min_topic_items=3, min_items=4, min_topics=2)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["MANIFEST.json", "dev-en.tsv", "test-de.tsv", "test-en.tsv", "test-ru.tsv", "test-sv.tsv", "train-en.tsv"]
    manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == ["food", "greetings", "money"]
    assert manifest["topics_left_out"]["too_few_english_lines"] == {"health": 1}
    assert manifest["topics_left_out"]["no_english_file"] == {"music": ["german/music.yml"]}
    # 'Yes' is filed under greetings in English and is identical to an English line in German.
    de = read_tsv(out / "test-de.tsv")
    assert de[0] == ["text", "label"]
    assert ["Yes", "greetings"] not in de and ["Do you like pizza?", "food"] not in de
    assert ["Ich liebe Nudeln mit Käse", "food"] in de
    assert manifest["languages"]["de"]["files"]["food.yml"]["dropped"] == {"untranslated": 1}
    # Swedish greetings is the English file: rejected whole; the other files are kept.
    sv = manifest["languages"]["sv"]
    assert sv["files"]["greetings.yml"]["used"] is False and "3 of 4 lines failed" in sv["files"]["greetings.yml"]["reason"]
    assert sv["topics"] == {"food": 4, "money": 2}
    assert manifest["languages"]["de"]["topics"] == {"food": 3, "greetings": 3}
    # Russian 'dinero.yml' is money; its Latin line 'Hi there' is dropped, the file kept.
    assert manifest["languages"]["ru"]["topics"] == {"greetings": 3, "money": 4}
    assert manifest["languages"]["ru"]["files"]["greetings.yml"]["dropped"] == {"wrong script": 1}
    assert manifest["left_out"]["hinglish"]["reason"].startswith("no language code")
    # Every count in the manifest is the number of rows in its file.
    for code, entry in manifest["languages"].items():
        for split, n in entry["items"].items():
            assert len(read_tsv(out / f"{split}-{code}.tsv")) - 1 == n
    english = [row for split in ("train", "dev", "test") for row in read_tsv(out / f"{split}-en.tsv")[1:]]
    assert len(english) == len({text for text, _ in english}) == 12
    # The classification task reads it as it is.
    task = Classify(out)
    assert task.available_languages() == ["de", "en", "ru", "sv"]
    assert len(task.load()["ru"].payload) == 7


def test_build_is_deterministic_and_reused(tmp_path, fake_corpus):
    params = {"min_topic_items": 3, "min_items": 4, "min_topics": 2}
    first = build_demo_topics(tmp_path / "a", **params)
    second = build_demo_topics(tmp_path / "b", **params)
    files = lambda folder: {p.name: p.read_bytes() for p in sorted(folder.iterdir())}  # noqa: E731
    assert files(first) == files(second)
    mtimes = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}
    assert build_demo_topics(tmp_path / "a", **params) == first
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir()} == mtimes
    # A damaged file is noticed (hash mismatch) and the folder rebuilt.
    (first / "test-de.tsv").write_text("text\tlabel\nbroken\tfood\n", encoding="utf-8")
    build_demo_topics(tmp_path / "a", **params)
    assert files(first) == files(second)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_build_refuses_foreign_folders_and_bad_parameters(tmp_path, fake_corpus):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x", encoding="utf-8")
    with pytest.raises(XharnessError, match="not demo data"):
        build_demo_topics(foreign)
    with pytest.raises(XharnessError, match="at least 1"):
        build_demo_topics(tmp_path / "x", min_items=0)


def test_default_folder_is_under_the_cache(tmp_path, fake_corpus, monkeypatch):
    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(XharnessError, match="fewer than two topics"):
        build_demo_topics()  # with the default 20 lines per topic the small corpus has none
    assert topics.default_topics_dir("1.3.3", 20, 40, 2) == tmp_path / "cache" / "demo" / "topics-chatterbot-1.3.3"


def test_missing_package_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(topics, "find_spec", lambda name: None)
    with pytest.raises(XharnessError, match="chatterbot-corpus, which is not installed"):
        topics.locate_corpus()


# ---------------------------------------------------------------------------------------------
# The real package.


@pytest.fixture(scope="module")
def real_build(tmp_path_factory) -> Path:
    pytest.importorskip("chatterbot_corpus")
    return build_demo_topics(tmp_path_factory.mktemp("topics") / "chatterbot")


def test_real_build_checks_languages(real_build):
    manifest = json.loads((real_build / "MANIFEST.json").read_text(encoding="utf-8"))
    assert manifest["source"]["package"] == "chatterbot-corpus"
    assert len(manifest["labels"]) >= 10 and "greetings" in manifest["labels"]
    assert manifest["languages"]["en"]["items"]["train"] > 500
    kept = set(manifest["languages"]) - {"en"}
    assert {"de", "es", "fr", "it", "ja", "ko", "ru", "zh"} <= kept
    assert set(manifest["languages"]) <= {"en", *LANGUAGE_FOLDERS.values()}
    # Chatterbot 1.3.3's swedish/conversations.yml is the English file: it must not be used.
    if manifest["source"]["version"] == "1.3.3":
        swedish = manifest["languages"].get("sv", manifest["left_out"].get("swedish"))
        assert swedish["files"]["conversations.yml"]["used"] is False
    english = {row.split("\t")[0].casefold() for split in ("train", "dev", "test")
               for row in (real_build / f"{split}-en.tsv").read_text(encoding="utf-8").splitlines()[1:]}
    labels = set(manifest["labels"])
    for code in kept:
        rows = [line.split("\t") for line in (real_build / f"test-{code}.tsv").read_text(encoding="utf-8").splitlines()[1:]]
        assert len(rows) >= 40 and {label for _, label in rows} <= labels
        assert not any(text.casefold() in english for text, _ in rows)  # nothing untranslated
        if code in SCRIPTS:
            assert all(in_script(text, SCRIPTS[code]) for text, _ in rows), code


def test_real_build_loads_as_a_classification_task(real_build):
    task = Classify(real_build)
    loaded = task.load(["all"])
    assert "en" in loaded and "ja" in loaded
    train, dev = task.english()
    assert len(set(train.labels)) == len(json.loads((real_build / "MANIFEST.json").read_text(encoding="utf-8"))["labels"])
    assert dev is not None and len(dev) > 100
