"""The demo bitext builder: cleaning rules on hand-written strings, and real builds from django."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path

import pytest

from xharness.demo import bitext
from xharness.demo.bitext import DEMO_LANGUAGES, build_demo_tatoeba, demo_source_fingerprint
from xharness.demo.bitext_rules import Candidate, catalogue_entries, clean_text, make_candidate, select_pairs, strip_context, word_count
from xharness.errors import XharnessError

pytest.importorskip("django")

# Lines of these languages must be mostly in their own script: the demo is meant to reach
# beyond Latin script, where a model's transfer is most often weak.
SCRIPTS = {
    "ara": "\u0600-\u06ff",
    "pes": "\u0600-\u06ff",
    "cmn": "\u4e00-\u9fff",
    "jpn": "\u3040-\u30ff\u4e00-\u9fff",
    "kor": "\uac00-\ud7af",
    "hin": "\u0900-\u097f",
    "heb": "\u0590-\u05ff",
    "ell": "\u0370-\u03ff",
    "rus": "\u0400-\u04ff",
    "ukr": "\u0400-\u04ff",
    "tha": "\u0e00-\u0e7f",
    "kat": "\u10a0-\u10ff",
}
PAIR_FILE = re.compile(r"tatoeba\.([a-z]+)-eng\.([a-z]+)")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_demo_tatoeba(tmp_path_factory.mktemp("demo") / "tatoeba")


@pytest.fixture(scope="module")
def manifest(built) -> dict:
    return json.loads((built / "MANIFEST.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Cleaning rules, on hand-written strings.


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Enter a valid %(protocol)s address.", "Enter a valid address."),
        ("%s does not appear to be a urlpattern object", "does not appear to be a urlpattern object"),
        ("Ensure this filename has at most %(max)d character (it has %(length)d).", "Ensure this filename has at most character (it has)."),
        ("Value %(value)r is not a valid choice.", "Value is not a valid choice."),
        ("The number of days must be between {min_days} and {max_days}.", "The number of days must be between and."),
        ("Select this object for {0} an action - {}", "Select this object for an action -"),
        ("Done: 100%% of %d files", "Done: 100% of files"),
        ("50% sure it works", "50% sure it works"),
        # gaps joined by punctuation only are one gap
        ("starting from %(offset)s, e.g. %(a)s, %(b)s, and so on.", "starting from, e.g., and so on."),
        ("Invalid page (%(page_number)s): %(message)s", "Invalid page"),
        ("Future %(name)s not available because %(cls)s.allow_future is False.", "Future not available because .allow_future is False."),
    ],
)
def test_clean_text_removes_placeholders(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("View <a href=\"https://x/%(version)s/\" target=\"_blank\">release notes</a> for Django", "View release notes for Django"),
        ("Enter a new password for <strong>%(username)s</strong>.", "Enter a new password for."),
        ("first line<br>second line", "first line second line"),
        ("<a href=\"%(link)s\">リリースノート</a>を表示", "リリースノートを表示"),
        ('Alternativen wie „<a rel="noreferrer" …>“ für Links', "Alternativen wie für Links"),
        ("If you use the <meta name=\"referrer\" content=\"no-referrer\"> tag", "If you use the tag"),
        ("Topics, references, &amp; how-to&#8217;s", "Topics, references, & how-to’s"),
        ("  View function:\n\t<code>%(name)s</code>.\u00a0Name  ", "View function:. Name"),
    ],
)
def test_clean_text_removes_markup_and_entities(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("The {name} “{obj}” was added successfully.", "The was added successfully."),
        ("{name} „{obj}“ wurde erfolgreich hinzugefügt.", "wurde erfolgreich hinzugefügt."),
        ("L’objet « %(obj)s » a été ajouté.", "L’objet a été ajouté."),
        ("「%(name)s」を追加しました。", "を追加しました。"),
        ("the related `%(app_label)s.%(data_type)s` object", "the related object"),
        # the translator's own spacing before French punctuation stays
        ("Voulez-vous supprimer %(objects_name)s ? Oui :", "Voulez-vous supprimer ? Oui :"),
        # quotes around real text are kept
        ("Click the “Choose” arrow", "Click the “Choose” arrow"),
    ],
)
def test_clean_text_removes_emptied_quotes(raw, clean):
    assert clean_text(raw) == clean


def test_escaped_markup_is_text_and_makes_the_pair_unclean():
    assert clean_text("use &lt;b&gt; here, then more words") == "use <b> here, then more words"
    assert make_candidate("use &lt;b&gt; here, then more words", "x y", "c.mo", min_words=1) is None


def test_strip_context_and_word_count():
    assert strip_context("month name\x04May") == "May"
    assert strip_context("String to return\x04%(truncated_text)s…") == "%(truncated_text)s…"
    assert strip_context("no context here") == "no context here"
    assert word_count("Enter a valid - address …") == 4


def test_catalogue_entries_keep_the_n_equals_1_plural_form():
    catalog = {
        "": "Content-Type: text/plain; charset=UTF-8\n",  # header
        "Untranslated sentence stays out": "Untranslated sentence stays out",
        "Empty translation": "",
        "ctx\x04Context key": "Kontextschlüssel",
        ("Please submit at least %d form.", 0): "form for n = 0",
        ("Please submit at least %d form.", 1): "form for n = 1",
        ("Please submit at least %d form.", 2): "form for n = 2",
    }
    entries = dict(catalogue_entries(catalog, plural_index=1))
    assert entries == {
        "ctx\x04Context key": "Kontextschlüssel",
        "Please submit at least %d form.": "form for n = 1",
    }


def test_make_candidate_applies_the_thresholds():
    assert make_candidate("Enter a valid %(x)s address.", "Gültige Adresse eingeben.", "c.mo", min_words=4) is not None
    # placeholders do not count as words
    assert make_candidate("Enter a valid %(x)s address.", "Gültige Adresse eingeben.", "c.mo", min_words=5) is None
    # a translation that is nothing but placeholders, or a copy of the English, is no pair
    assert make_candidate("One two three four five %s", "%s", "c.mo", min_words=5) is None
    assert make_candidate("Uses DEBUG=True in settings.py here", "Uses DEBUG=True in settings.py here", "c.mo", min_words=5) is None
    cand = make_candidate("ctx\x04One two <b>three</b> four five", "Eins zwei drei vier fünf", "c.mo", min_words=5)
    assert cand == Candidate(
        english="One two three four five",
        catalogue="c.mo",
        key="ctx\x04One two <b>three</b> four five",
        translation="Eins zwei drei vier fünf",
    )


def test_select_pairs_sorts_and_uses_each_sentence_once():
    cands = [
        Candidate("b sentence", "a.mo", "k2", "B1"),
        Candidate("a sentence", "y.mo", "k", "A"),
        Candidate("b sentence", "a.mo", "k1", "B2"),  # same English: first by catalogue, then key, wins
        Candidate("b sentence", "b.mo", "k0", "B0"),
        Candidate("c sentence", "a.mo", "k", "A"),  # same translation as "a sentence": dropped
    ]
    assert select_pairs(cands) == [("a sentence", "A"), ("b sentence", "B2")]
    assert select_pairs(reversed(cands)) == select_pairs(cands)


# ---------------------------------------------------------------------------------------------
# A hand-made catalogue read end to end, through the stdlib .mo reader.


def _write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU .mo file (what msgfmt writes), without a hash table."""
    keys = sorted(messages)
    ids = [k.encode() for k in keys]
    strs = [messages[k].encode() for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n
    offsets, blob = [], b""
    for s in ids + strs:
        offsets.append((len(s), start + len(blob)))
        blob += s + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    tables = b"".join(struct.pack("<2I", *o) for o in offsets)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + tables + blob)


def test_language_pairs_from_a_hand_made_catalogue(tmp_path):
    header = (
        "Content-Type: text/plain; charset=UTF-8\n"
        # Arabic's rule: form 0 is n = 0, form 1 is n = 1
        "Plural-Forms: nplurals=3; plural=n==0 ? 0 : n==1 ? 1 : 2;\n"
    )
    _write_mo(
        tmp_path / "conf/locale/xx/LC_MESSAGES/django.mo",
        {
            "": header,
            "Please submit at least %d form now.\x00Please submit at least %d forms now.": "zero forms\x00one form\x00many forms",
            "abbrev. month\x04The month of May is here": "Der Mai ist gekommen",
            "This field is required for everyone here.": "Dieses Feld ist Pflicht.",
            "Too short": "Zu kurz",
        },
    )
    _write_mo(
        tmp_path / "contrib/admin/locale/xx/LC_MESSAGES/djangojs.mo",
        {"": header, "This field is required for everyone here.": "Ein zweites Mal: verworfen."},
    )
    pairs, n_catalogues = bitext.language_pairs(tmp_path, "xx", min_words=5)
    assert n_catalogues == 2
    assert pairs == [
        ("Please submit at least form now.", "one form"),
        ("The month of May is here", "Der Mai ist gekommen"),
        ("This field is required for everyone here.", "Dieses Feld ist Pflicht."),
    ]


# ---------------------------------------------------------------------------------------------
# Real builds from the installed django.


def test_layout(built, manifest):
    names = {p.name for p in built.iterdir()}
    assert "MANIFEST.json" in names
    codes = set(manifest["languages"])
    assert names == {"MANIFEST.json"} | {f"tatoeba.{c}-eng.{s}" for c in codes for s in (c, "eng")}
    for code, entry in manifest["languages"].items():
        assert entry["locale"] == DEMO_LANGUAGES[code]
        sides = {}
        for side in (code, "eng"):
            raw = (built / f"tatoeba.{code}-eng.{side}").read_bytes()
            assert raw.endswith(b"\n") and b"\r" not in raw
            text = raw.decode("utf-8")
            lines = text.split("\n")[:-1]
            assert all(line and line == line.strip() for line in lines), (code, side)
            assert not any("\t" in line or "\x00" in line or "\x01" in line for line in lines)
            assert not any(re.search(r"%\(|%[sd]\b|[{}]|<[a-zA-Z/][^>]*>", line) for line in lines), (code, side)
            sides[side] = lines
        assert len(sides[code]) == len(sides["eng"]) == entry["pairs"]
        # one right answer per query: no sentence twice in a file
        assert len(set(sides[code])) == len(set(sides["eng"])) == entry["pairs"]
        assert all(word_count(line) >= manifest["min_words"] for line in sides["eng"])
        digests = {n: hashlib.sha256((built / n).read_bytes()).hexdigest() for n in entry["sha256"]}
        assert digests == entry["sha256"]


def test_languages_scripts_and_counts(built, manifest):
    counts = {code: entry["pairs"] for code, entry in manifest["languages"].items()}
    assert sum(n >= 30 for n in counts.values()) >= 12, counts
    # transfer that should work (in multilingual USE's 16) and that may not (outside it)
    assert {"ara", "cmn", "deu", "jpn", "kor", "rus"} <= set(counts)
    assert len({"hin", "fin", "ell", "heb", "vie"} & set(counts)) >= 3
    scripts_seen = set()
    for code, chars in SCRIPTS.items():
        if code not in counts:
            continue
        lines = (built / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        in_script = sum(bool(re.search(f"[{chars}]", line)) for line in lines)
        assert in_script >= 0.9 * len(lines), code
        scripts_seen.add(chars)
    assert len(scripts_seen) >= 6
    assert manifest["source"]["package"] == "django"
    assert manifest["rules_version"] == bitext.RULES_VERSION
    assert manifest["fingerprint"] == demo_source_fingerprint()


def test_same_sentences_are_aligned_across_languages(built):
    # Each English file comes from the same source, so a common sentence lines up with its
    # translation in every language (a misalignment would scramble these).
    eng = (built / "tatoeba.deu-eng.eng").read_text(encoding="utf-8").splitlines()
    deu = (built / "tatoeba.deu-eng.deu").read_text(encoding="utf-8").splitlines()
    pairs = dict(zip(eng, deu))
    assert pairs["A user with that username already exists."] == "Dieser Benutzername ist bereits vergeben."


def test_build_is_byte_identical(built, tmp_path):
    again = build_demo_tatoeba(tmp_path / "again")
    assert _files(again) == _files(built)


def test_valid_build_is_reused(built, monkeypatch):
    before = _mtimes(built)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt a valid folder")

    monkeypatch.setattr(bitext, "_write_build", no_rebuild)
    assert build_demo_tatoeba(built) == built
    assert _mtimes(built) == before


def _small_build(folder: Path) -> Path:
    return build_demo_tatoeba(folder, languages=["deu", "jpn"])


@pytest.mark.parametrize("damage", ["truncate", "no_manifest", "other_version", "bad_json"])
def test_invalid_folder_is_rebuilt(tmp_path, damage):
    reference = _files(_small_build(tmp_path / "ref"))
    folder = _small_build(tmp_path / "demo")
    if damage == "truncate":
        (folder / "tatoeba.jpn-eng.jpn").write_text("half\n", encoding="utf-8")
    elif damage == "no_manifest":  # as a build cut short would leave it
        (folder / "MANIFEST.json").unlink()
    elif damage == "other_version":
        manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
        manifest["source"]["version"] = "1.0"
        (folder / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    else:
        (folder / "MANIFEST.json").write_text("{", encoding="utf-8")
    assert _small_build(folder) == folder
    assert _files(folder) == reference
    # no temporary build or set-aside folder is left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "ref"]


def test_other_parameters_rebuild_and_leave_out_small_languages(tmp_path):
    folder = _small_build(tmp_path / "demo")
    rebuilt = build_demo_tatoeba(folder, languages=["deu", "hin"], min_pairs=100)
    manifest = json.loads((rebuilt / "MANIFEST.json").read_text(encoding="utf-8"))
    assert set(manifest["languages"]) == {"deu"}
    assert manifest["left_out"]["hin"]["locale"] == "hi"
    assert 0 < manifest["left_out"]["hin"]["pairs"] < 100
    assert not (rebuilt / "tatoeba.jpn-eng.jpn").exists()
    assert not (rebuilt / "tatoeba.hin-eng.hin").exists()


def test_default_folder_is_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    _, version = bitext.locate_django()
    folder = build_demo_tatoeba(languages=DEMO_LANGUAGES)
    assert folder == tmp_path / "cache" / "demo" / f"tatoeba-django-{version}"
    # other parameters get their own folder instead of evicting the default one
    other = build_demo_tatoeba(languages=["deu"], min_words=6)
    assert other.parent == folder.parent and other.name.startswith(folder.name + "-")
    assert (folder / "MANIFEST.json").exists()


def test_fingerprint_names_django_and_rules():
    _, version = bitext.locate_django()
    assert demo_source_fingerprint() == f"django=={version};demo-rules={bitext.RULES_VERSION}"


def test_refuses_to_replace_a_folder_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(XharnessError, match="not demo data"):
        build_demo_tatoeba(tmp_path, languages=["deu"])
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_errors_are_one_line(tmp_path, monkeypatch):
    with pytest.raises(XharnessError, match="no demo data for language 'xyz'"):
        build_demo_tatoeba(tmp_path / "a", languages=["xyz"])
    with pytest.raises(XharnessError, match="min_words"):
        build_demo_tatoeba(tmp_path / "a", min_words=0)

    monkeypatch.setattr(bitext, "locate_django", lambda: (tmp_path / "empty-django", "9.9"))
    with pytest.raises(XharnessError, match="ships no translation catalogues") as info:
        build_demo_tatoeba(tmp_path / "b")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "b").exists()

    monkeypatch.undo()
    monkeypatch.setattr(bitext, "find_spec", lambda name: None)
    with pytest.raises(XharnessError, match="django is not installed"):
        build_demo_tatoeba(tmp_path / "c")
    with pytest.raises(XharnessError, match="django is not installed"):
        demo_source_fingerprint()
