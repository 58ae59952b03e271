import cv2
import numpy as np
import pytest

from ocr.data.lmdb_store import DET_SCHEMA, LmdbWriter
from ocr.engine.page_eval import evaluate_pages


class _FakePage:
    def __init__(self, text):
        self.text = text


class _FakeReader:
    """Reads page i as the i-th canned text."""

    def __init__(self, texts):
        self.texts = list(texts)

    def read(self, data, name=None):
        return _FakePage(self.texts.pop(0))


def test_page_scores_over_a_store(tmp_path):
    ok, png = cv2.imencode(".png", np.full((8, 8, 3), 255, np.uint8))
    with LmdbWriter(tmp_path / "pages", schema=DET_SCHEMA) as w:
        w.add(png.tobytes(), {"width": 8, "height": 8, "lines": [], "text": "TOTAL 12.50\nCASH"})
        w.add(png.tobytes(), {"width": 8, "height": 8, "lines": []})  # no text: not scored
        w.add(png.tobytes(), {"width": 8, "height": 8, "lines": [], "text": "thank you"})
    s = evaluate_pages(_FakeReader(["TOTAL 12.50 CASH", "thank yoo"]), str(tmp_path / "pages"))
    assert s["n"] == 2
    # words: 4 of 5 predicted match 4 of 5 true -> P = R = F1 = 0.8
    assert s["precision"] == pytest.approx(0.8) and s["f1"] == pytest.approx(0.8)
    # whitespace-normalised: page 1 exact (16 chars), page 2 one substitution in 9 chars
    assert s["cer"] == pytest.approx(1 / 25)
    s = evaluate_pages(_FakeReader(["total 12.50 cash", "THANK YOU"]), str(tmp_path / "pages"), case_sensitive=False)
    assert s["f1"] == pytest.approx(1.0)


def _fake_program(path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def test_tesseract_baseline_reads_the_image_bytes_from_stdin(tmp_path):
    from ocr.engine.tesseract_baseline import TesseractReader

    # a stand-in program: echoes its arguments and the size of what it got on stdin
    fake = _fake_program(tmp_path / "tess", 'echo "$@"; wc -c')
    page = TesseractReader(binary=fake, psm=6).read(b"12345", name="a.png")
    args, size = page.text.split("\n")[:2]
    assert args == "stdin stdout -l eng --psm 6" and size.strip() == "5"


def test_tesseract_baseline_errors_name_the_input(tmp_path):
    from ocr.engine.tesseract_baseline import TesseractReader

    failing = _fake_program(tmp_path / "tess", 'echo "Error in pixReadMem" >&2; exit 1')
    with pytest.raises(RuntimeError, match=r"^bad\.jpg: tesseract failed: Error in pixReadMem"):
        TesseractReader(binary=failing).read(b"xx", name="bad.jpg")
    with pytest.raises(FileNotFoundError, match="no-such-ocr-program: not found"):
        TesseractReader(binary="no-such-ocr-program")
