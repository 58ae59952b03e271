import pytest

from ocr.text import CTCTokenizer, SeqTokenizer, load_charset


def test_builtin_sizes():
    assert len(load_charset("lower36")) == 36
    assert len(load_charset("ascii94")) == 94
    assert len(load_charset("ascii95")) == 95


def test_file_charset_any_script(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_text("é\nü\nß\n中\n", encoding="utf-8")
    cs = load_charset(f"file:{f}")
    assert cs.chars == "éüß中"
    assert cs.unknown("éx中") == ["x"]


def test_file_charset_rejects_multichar_lines(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("ab\n", encoding="utf-8")
    with pytest.raises(ValueError, match="one character per line"):
        load_charset(f"file:{f}")


def test_unknown_charset_name():
    with pytest.raises(ValueError, match="lower36"):
        load_charset("klingon")


def test_lower36_lowercases_and_counts_unknown():
    tok = CTCTokenizer(load_charset("lower36"))
    targets, lengths = tok.encode(["AB-c", "9"])
    assert lengths.tolist() == [3, 1]
    assert tok.text_of(targets[0, :3].tolist()) == "abc"
    assert tok.unknown_counts == {"-": 1}


def test_ctc_greedy_collapses_repeats_and_blanks():
    tok = CTCTokenizer(load_charset("lower36"))
    a, b = tok.stoi["a"], tok.stoi["b"]
    assert tok.decode_greedy([0, a, a, 0, a, b, b, 0]) == "aab"


def test_ascii95_keeps_case_space_and_collapses_whitespace():
    tok = CTCTokenizer(load_charset("ascii95"))
    targets, lengths = tok.encode(["Hi  there!"])
    assert tok.text_of(targets[0, : lengths[0]].tolist()) == "Hi there!"


def test_seq_tokenizer_roundtrip():
    tok = SeqTokenizer(load_charset("ascii94"))
    ids = tok.encode(["Ab1", "z"], max_length=25)
    assert ids.shape == (2, 5)
    assert ids[1].tolist()[:3] == [tok.bos, tok.stoi["z"], tok.eos]
    assert ids[1, 3:].eq(tok.pad).all()
    assert tok.decode(ids[0, 1:].tolist()) == "Ab1"
    assert tok.encode(["abc"], max_length=3).shape == (1, 5)
    with pytest.raises(ValueError, match="more than max_length 3"):
        tok.encode(["abcdef"], max_length=3)  # never cut silently


def test_page_charset_keeps_newlines_and_collapses_spaces_within_lines():
    cs = load_charset("ascii96")
    assert cs.normalize("TOTAL   12.50\n\n  CASH  \n") == "TOTAL 12.50\nCASH"
    assert load_charset("ascii95").normalize("a \n b") == "a b"
