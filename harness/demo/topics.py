"""The demo's classification set: the topic of each chatterbot-corpus dialogue line, built at first run.

The installed `chatterbot-corpus` wheel (BSD-3-Clause) holds YAML dialogues in ~28 languages,
one file per topic (greetings, emotion, money, ...); most non-English files are translations
of the English ones. A probe learns the topics from English lines and is tested on the other
languages' lines. The repository holds only this builder; the data is made on the user's machine.

Layout of the result (the generic layout of `xharness.tasks.labelled_data`, task `classify`)::

    <cache>/demo/topics-chatterbot-<version>/
        train-en.tsv  dev-en.tsv  test-en.tsv     header "text<TAB>label"
        test-de.tsv  test-ja.tsv  ...             every other kept language: test only
        MANIFEST.json                             source, rules, counts, file hashes, what was left out

The rules that decide what is kept are in `topic_rules.py`; the cached, atomic build in `builds.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any

from xharness.demo.builds import MANIFEST_NAME, build_dir, build_fingerprint, build_once, manifest_header
from xharness.demo.topic_rules import RULES_VERSION, check_file, clean, fold, has_letter, split_english, topic_of, tsv, unambiguous, words
from xharness.errors import XharnessError
from xharness.fileio import atomic_write_json, atomic_write_text
from xharness.hashing import sha256_file

SOURCE_PACKAGE = "chatterbot-corpus"
SOURCE_MODULE = "chatterbot_corpus"
MANIFEST_FORMAT = "xharness-demo-topics"
DEFAULT_MIN_TOPIC_ITEMS = 20
DEFAULT_MIN_ITEMS = 40
DEFAULT_MIN_TOPICS = 2
ENGLISH = "english"

# chatterbot-corpus folder -> result language code.
LANGUAGE_FOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "bengali": "bn", "chinese": "zh", "dutch": "nl", "french": "fr", "german": "de", "hebrew": "he",
        "hindi": "hi", "indonesian": "id", "italian": "it", "japanese": "ja", "korean": "ko", "marathi": "mr",
        "oriya": "or", "persian": "fa", "portuguese": "pt", "russian": "ru", "spanish": "es", "swedish": "sv",
        "tamil": "ta", "telugu": "te", "thai": "th", "traditionalchinese": "zh-hant", "turkish": "tr",
        "ukrainian": "uk", "urdu": "ur", "yoruba": "yo",
    }
)


# ---------------------------------------------------------------------------------------------
# Reading the package.


def locate_corpus() -> tuple[Path, str]:
    """The installed corpus's data folder and version, without importing the package."""
    hint = f"pip install '{SOURCE_PACKAGE}==1.3.3'"
    spec = find_spec(SOURCE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise XharnessError(f"the demo's topic data is built from {SOURCE_PACKAGE}, which is not installed ({hint})")
    data = Path(list(spec.submodule_search_locations)[0]) / "data"
    if not (data / ENGLISH).is_dir():
        raise XharnessError(f"{data}: {SOURCE_PACKAGE} holds no data/{ENGLISH}/ folder; reinstall it ({hint})")
    try:
        version = metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:
        raise XharnessError(f"{SOURCE_PACKAGE} at {data.parent} has no package metadata; reinstall it ({hint})") from None
    return data, version


def read_lines(path: Path) -> list[str]:
    """The distinct lines (with a letter) of one corpus file, in first-seen order."""
    try:
        import yaml
    except ImportError:
        raise XharnessError("the demo's topic data needs PyYAML (pip install pyyaml)") from None
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"unreadable YAML ({type(exc).__name__})") from None
    conversations = document.get("conversations") if isinstance(document, dict) else None
    if not isinstance(conversations, list):
        raise ValueError("no 'conversations' list")
    lines: dict[str, None] = {}
    for conversation in conversations:
        for turn in conversation if isinstance(conversation, list) else [conversation]:
            if isinstance(turn, str):
                text = clean(turn)
                if has_letter(text):
                    lines.setdefault(text, None)
    return list(lines)


# ---------------------------------------------------------------------------------------------
# Building the folder.


def _is_default(min_topic_items: int, min_items: int, min_topics: int) -> bool:
    return (min_topic_items, min_items, min_topics) == (DEFAULT_MIN_TOPIC_ITEMS, DEFAULT_MIN_ITEMS, DEFAULT_MIN_TOPICS)


def _fingerprint(version: str, min_topic_items: int, min_items: int, min_topics: int) -> str:
    return build_fingerprint(
        f"{SOURCE_PACKAGE}=={version};topics-rules={RULES_VERSION}",
        [min_topic_items, min_items, min_topics],
        default=_is_default(min_topic_items, min_items, min_topics),
    )


def _expected_header(version: str, min_topic_items: int, min_items: int, min_topics: int) -> dict[str, Any]:
    return manifest_header(
        MANIFEST_FORMAT, SOURCE_PACKAGE, version, rules_version=RULES_VERSION,
        fingerprint=_fingerprint(version, min_topic_items, min_items, min_topics),
        params={"min_topic_items": min_topic_items, "min_items": min_items, "min_topics": min_topics},
    )


def default_topics_dir(version: str, min_topic_items: int, min_items: int, min_topics: int) -> Path:
    """`cache_dir()/demo/topics-chatterbot-<version>`, with a parameter hash when not the defaults."""
    return build_dir(f"topics-chatterbot-{version}", _fingerprint(version, min_topic_items, min_items, min_topics))


def _write(folder: Path, name: str, rows: list[tuple[str, str]], digests: dict[str, str]) -> None:
    atomic_write_text(folder / name, tsv(rows))
    digests[name] = sha256_file(folder / name)


def _english(data: Path, min_topic_items: int) -> tuple[dict[str, list[str]], dict[str, Any]]:
    by_topic: dict[str, set[str]] = {}
    unreadable = {}
    for path in sorted((data / ENGLISH).glob("*.yml")):
        try:
            by_topic.setdefault(topic_of(path), set()).update(read_lines(path))
        except ValueError as exc:
            unreadable[path.name] = str(exc)
    topics = unambiguous(by_topic)
    small = {t: len(lines) for t, lines in topics.items() if len(lines) < min_topic_items}
    return {t: lines for t, lines in topics.items() if t not in small}, {"unreadable": unreadable, "too_small": small}


def _write_build(folder: Path, data: Path, header: Mapping[str, Any]) -> None:
    english, english_notes = _english(data, header["min_topic_items"])
    if len(english) < 2:
        raise XharnessError(f"{data / ENGLISH}: fewer than two topics with {header['min_topic_items']} lines; cannot build the demo")
    all_english = {line for path in sorted((data / ENGLISH).glob("*.yml")) for line in _safe_lines(path)}
    english_keys = {fold(line) for line in all_english}
    vocabulary = {w for line in all_english for w in words(line)}
    splits = split_english(english)
    digests: dict[str, str] = {}
    for split, rows in splits.items():
        _write(folder, f"{split}-en.tsv", rows, digests)
    languages: dict[str, Any] = {
        "en": {
            "folder": ENGLISH,
            "items": {split: len(rows) for split, rows in splits.items()},
            "topics": {t: len(lines) for t, lines in english.items()},
            "sha256": digests,
        }
    }
    left_out: dict[str, Any] = {}
    no_english_file: dict[str, list[str]] = {}
    for name in sorted(p.name for p in data.iterdir() if p.is_dir()):
        if name == ENGLISH:
            continue
        code = LANGUAGE_FOLDERS.get(name)
        if code is None:
            left_out[name] = {"reason": "no language code (not a single language, or unknown)"}
            continue
        by_topic: dict[str, set[str]] = {}
        files: dict[str, Any] = {}
        for path in sorted(data.joinpath(name).glob("*.yml")):
            topic = topic_of(path)
            if topic not in english:
                if topic in english_notes["too_small"]:
                    reason = f"topic not used (fewer than {header['min_topic_items']} English lines)"
                else:
                    reason = "topic not used (no English file)"
                    no_english_file.setdefault(topic, []).append(f"{name}/{path.name}")
                files[path.name] = {"topic": topic, "used": False, "reason": reason}
                continue
            try:
                lines = read_lines(path)
            except ValueError as exc:
                files[path.name] = {"topic": topic, "used": False, "reason": str(exc)}
                continue
            check = check_file(lines, lang=code, english_lines=english_keys, english_vocabulary=vocabulary)
            entry: dict[str, Any] = {"topic": topic, "lines": len(lines), "dropped": check.dropped}
            if check.rejected:
                entry.update({"used": False, "reason": check.rejected})
            else:
                entry["used"] = True
                by_topic.setdefault(topic, set()).update(check.kept)
            files[path.name] = entry
        topics = {t: lines for t, lines in unambiguous(by_topic).items() if lines}
        rows = [(line, topic) for topic, lines in topics.items() for line in lines]
        if len(rows) < header["min_items"] or len(topics) < header["min_topics"]:
            left_out[name] = {
                "code": code,
                "items": len(rows),
                "topics": len(topics),
                "reason": f"fewer than {header['min_items']} items or {header['min_topics']} topics",
                "files": files,
            }
            continue
        digests = {}
        _write(folder, f"test-{code}.tsv", rows, digests)
        languages[code] = {
            "folder": name,
            "items": {"test": len(rows)},
            "topics": {t: len(lines) for t, lines in topics.items()},
            "files": files,
            "sha256": digests,
        }
    manifest = {
        **header,
        "layout": "xharness generic classification layout: {split}-{lang}.tsv with header text<TAB>label",
        "labels": sorted(english),
        "topics_left_out": {
            "too_few_english_lines": english_notes["too_small"],
            "no_english_file": no_english_file,
            "unreadable_english_files": english_notes["unreadable"],
        },
        "languages": languages,
        "left_out": left_out,
    }
    # The manifest goes last: a folder with a manifest whose hashes match is a finished build.
    atomic_write_json(folder / MANIFEST_NAME, manifest)


def _safe_lines(path: Path) -> list[str]:
    try:
        return read_lines(path)
    except ValueError:
        return []


def _looks_like_topics_folder(folder: Path) -> bool:
    # Replacing a folder deletes it: only ever do that to one that holds nothing but demo files.
    return all(
        p.name == MANIFEST_NAME or re.fullmatch(r"(train|dev|test)-[a-z-]+\.tsv", p.name) or p.name.startswith(".")
        for p in folder.iterdir()
    )


def build_demo_topics(
    out_dir: Path | None = None,
    *,
    min_topic_items: int = DEFAULT_MIN_TOPIC_ITEMS,
    min_items: int = DEFAULT_MIN_ITEMS,
    min_topics: int = DEFAULT_MIN_TOPICS,
) -> Path:
    """Build (or reuse) the demo topic-classification folder from the installed chatterbot-corpus.

    Args:
        out_dir: the folder to make; default `default_topics_dir(...)` under the cache.
        min_topic_items: fewest English lines a topic needs to be a label.
        min_items: fewest items a non-English language needs to be written.
        min_topics: fewest topics a non-English language needs to be written.

    Returns:
        The folder. One whose manifest matches this package version, these rules and
        parameters, and whose files match their recorded hashes, is returned untouched;
        anything else there is rebuilt in a temporary sibling folder and renamed into place.

    Raises:
        XharnessError: chatterbot-corpus or PyYAML missing, bad parameters, or `out_dir`
            holding files that are not demo data.

    Example:
        >>> folder = build_demo_topics()  # doctest: +SKIP
        >>> sorted(p.name for p in folder.iterdir())[:3]  # doctest: +SKIP
        ['MANIFEST.json', 'dev-en.tsv', 'test-bn.tsv']
    """
    if min(min_topic_items, min_items, min_topics) < 1:
        raise XharnessError(
            f"min_topic_items, min_items and min_topics must be at least 1, got {min_topic_items}, {min_items}, {min_topics}"
        )
    data, version = locate_corpus()
    out = Path(out_dir) if out_dir is not None else default_topics_dir(version, min_topic_items, min_items, min_topics)
    out = out.expanduser().absolute()
    expected = _expected_header(version, min_topic_items, min_items, min_topics)
    return build_once(
        out, expected, looks_like=_looks_like_topics_folder, write=lambda built: _write_build(built, data, expected),
        what="the demo topics",
    )
