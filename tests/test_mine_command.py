"""`xharness mine`: two files in, scored pairs out, plain and BUCC formats, duplicates reported per line."""

from click.testing import CliRunner

from xharness.cli import main

EN = ["The cat sleeps on the sofa.", "I bought three red apples.", "Where is the train station?", "It rains today.", "The cat sleeps on the sofa."]
DE = ["Wo ist der Bahnhof?", "Die Katze schläft auf dem Sofa.", "Heute regnet es.", "Ich kaufte drei rote Äpfel."]


def test_mine_plain_files_with_a_real_model(tmp_path):
    (tmp_path / "de.txt").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("\n".join(EN) + "\n", encoding="utf-8")
    out = tmp_path / "pairs.tsv"
    result = CliRunner().invoke(main, ["mine", str(tmp_path / "de.txt"), str(tmp_path / "en.txt"), "-m", "usem3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    pairs = {(r[1], r[2]) for r in rows}
    # German line 2 (the cat) matches English lines 1 and 5, which hold the same sentence.
    assert {("2", "1"), ("2", "5"), ("1", "3"), ("3", "4"), ("4", "2")} <= pairs
    scores = [float(r[0]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_mine_bucc_format_and_threshold(tmp_path):
    (tmp_path / "a").write_text("".join(f"de-{i}\t{s}\n" for i, s in enumerate(DE)), encoding="utf-8")
    (tmp_path / "b").write_text("".join(f"en-{i}\t{s}\n" for i, s in enumerate(EN[:4])), encoding="utf-8")
    out = tmp_path / "pairs.tsv"
    result = CliRunner().invoke(main, ["mine", str(tmp_path / "a"), str(tmp_path / "b"), "-m", "usem3", "-o", str(out), "--threshold", "1.0"])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(float(r[0]) >= 1.0 for r in rows)
    assert all(r[1].startswith("de-") and r[2].startswith("en-") for r in rows)


def test_mine_bad_input(tmp_path):
    (tmp_path / "a").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["mine", str(tmp_path / "a"), str(tmp_path / "a"), "-m", "usem3", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "file is empty" in result.output
