"""hOCR, ALTO and searchable PDF, each read back by an independent consumer where it is installed:
archive-hocr-tools' hOCR parser, lxml's XML Schema validator (ALTO v4 structure), poppler's pdftotext."""
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr.export import export
from ocr.types import Line, Page, Word

ALTO_XSD = Path(__file__).parent / "data" / "alto-v4-subset.xsd"


def _rect(x, y, w, h, angle=0.0, center=(0, 0)):
    pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], float) - center
    a = np.deg2rad(angle)
    return pts @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + center


def sample_page(name="scan.png", angle=0.0, rotation=0) -> Page:
    """Two blocks: a title line, then two lines of words (turned clockwise by ``angle`` about the
    centre; ``rotation``: the page turn the reader found)."""
    c = (500, 300) if not angle else (500, 500)  # turned pages are 1000 x 1000
    spec = [[[("Invoice", 100, 60, 260, 60)]],
            [[("Total", 100, 300, 150, 40), ("12.50", 280, 300, 150, 40)],
             [("Paid&<ok>", 100, 360, 260, 40)]]]
    lines = []
    for b, block in enumerate(spec):
        for words in block:
            ws = [Word(t, _rect(x, y, w, h, angle, c), 0.5 + 0.1 * k) for k, (t, x, y, w, h) in enumerate(words)]
            poly = np.concatenate([w.polygon for w in ws])
            lines.append(Line(ws, cv2.boxPoints(cv2.minAreaRect(np.float32(poly))), block=b))
    return Page(name, 1000, 600 if not angle else 1000, lines, rotation=rotation)


def test_blocks_and_page_methods():
    page = sample_page()
    assert [[ln.text for ln in b] for b in page.blocks] == [["Invoice"], ["Total 12.50", "Paid&<ok>"]]
    assert page.to_hocr() == export([page], "hocr") and page.to_alto() == export(page, "alto")
    with pytest.raises(ValueError, match="unknown export format"):
        export(page, "docx")


def test_hocr_reads_back_with_an_hocr_parser(tmp_path):
    parse = pytest.importorskip("hocr.parse", reason="archive-hocr-tools (the dev extra) is not installed")
    pages = [sample_page("a.png"), Page("bad.png", 0, 0, error="bad.png: not a readable image"),
             sample_page("b.png")]
    path = tmp_path / "out.hocr"
    path.write_text(export(pages, "hocr"), encoding="utf-8")
    parsed = [(parse.hocr_page_get_dimensions(p), parse.hocr_page_to_word_data(p))  # pages are
              for p in parse.hocr_page_iterator(str(path))]                         # cleared as it goes
    assert len(parsed) == 2
    assert parsed[0][0] == (1000, 600)
    pars = parsed[1][1]
    assert [[[w["text"] for w in ln["words"]] for ln in par["lines"]] for par in pars] == \
        [[["Invoice"]], [["Total", "12.50"], ["Paid&<ok>"]]]
    total = pars[1]["lines"][0]["words"][0]
    assert total["bbox"] == [100, 300, 250, 340]
    assert total["confidence"] == pytest.approx(50)
    assert pars[1]["lines"][0]["words"][1]["confidence"] == pytest.approx(60)


def test_hocr_baseline_follows_a_skewed_line():
    text = export(sample_page(angle=-5), "hocr")  # turned 5 degrees counter-clockwise: rises to the right
    line = text.split("class=\"ocr_line\"")[2]
    slope = float(line.split("baseline ")[1].split()[0])
    assert slope == pytest.approx(np.tan(np.deg2rad(-5)), abs=0.01)


def test_alto_validates_against_the_alto_v4_structure():
    etree = pytest.importorskip("lxml.etree", reason="lxml (the dev extra) is not installed")
    schema = etree.XMLSchema(etree.parse(str(ALTO_XSD)))
    doc = etree.fromstring(export([sample_page("a.png"), sample_page("b.png", angle=10)], "alto").encode())
    schema.assertValid(doc)
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    assert len(doc.findall(".//a:Page", ns)) == 2
    strings = doc.findall(".//a:Page[1]//a:String", ns)
    assert [s.get("CONTENT") for s in strings] == ["Invoice", "Total", "12.50", "Paid&<ok>"]
    assert [strings[1].get(k) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT", "WC")] == ["100", "300", "150", "40", "0.500"]
    assert len(doc.findall(".//a:Page[1]//a:TextBlock", ns)) == 2
    broken = etree.fromstring(export(sample_page(), "alto").replace(' CONTENT="Total"', "").encode())
    assert not schema.validate(broken)  # the schema does check: a String without CONTENT fails


def _pdftotext_words(pdf: bytes, tmp_path) -> list[tuple[str, list[float]]]:
    from lxml import etree

    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(xml, etree.XMLParser(recover=True))
    words = []
    for page_no, page in enumerate(root.iter("{*}page")):
        for w in page.iter("{*}word"):
            words.append((page_no, w.text, [float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")]))
    return words


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_searchable_pdf_words_sit_on_the_image_words(tmp_path):
    pytest.importorskip("lxml.etree", reason="lxml (the dev extra) is not installed")
    pages = [sample_page("a.png"), sample_page("b.png", angle=90, rotation=90)]
    images = [np.full((600, 1000, 3), 255, np.uint8), np.full((1000, 1000, 3), 255, np.uint8)]
    words = _pdftotext_words(export(pages, "pdf", images=images, dpi=[150, 300]), tmp_path)
    assert [(p, t) for p, t, _ in words if p == 0] == [(0, "Invoice"), (0, "Total"), (0, "12.50"), (0, "Paid&<ok>")]
    assert sorted(t for p, t, _ in words if p == 1) == sorted(["Invoice", "Total", "12.50", "Paid&<ok>"])
    for page_no, text, box in words:
        scale = 72 / (150 if page_no == 0 else 300)
        word = next(w for w in pages[page_no].words if w.text == text)
        p = np.asarray(word.polygon) * scale
        want = [p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()]
        tol = 0.1 * (want[3] - want[1] if page_no == 0 else want[2] - want[0])  # a tenth of the text height
        assert np.allclose(box, want, atol=tol), (page_no, text, box, want)
    from pypdfium2 import PdfDocument

    doc = PdfDocument(export(pages, "pdf", images=images, dpi=150))
    assert [round(x) for x in doc[0].get_size()] == [480, 288]
    dark = np.asarray(doc[0].render(scale=1).to_pil().convert("L"))
    assert dark.min() > 240  # the text is invisible: the white image shows through unmarked
