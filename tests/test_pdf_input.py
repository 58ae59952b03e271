"""PDF input: pages expanded and rendered at a dpi; bad PDFs give one-line errors and the batch goes on."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image

import ocr.pipeline.pdf as pdfmod
from ocr.data import images
from ocr.api import Reader
from ocr.cli import main
from ocr.data.images import ImageError
from ocr.pipeline.inputs import document_items, expand_inputs, load_item, load_item_dpi
from helpers import image_pdf
from test_pipeline_cli import WORDS, _no_lmdb_subcommand, fake_models  # noqa: F401 (fixtures)
from test_pipeline_helpers import page_with_words


@pytest.fixture
def docs(tmp_path):
    page = page_with_words(WORDS)
    (tmp_path / "a_scan.pdf").write_bytes(image_pdf([page, page[::-1].copy(), page], dpi=150))
    (tmp_path / "b_encrypted.pdf").write_bytes(image_pdf([page], password="secret"))
    (tmp_path / "c_damaged.pdf").write_bytes(image_pdf([page])[:400])
    (tmp_path / "d_empty.pdf").write_bytes(b"")
    Image.fromarray(page).save(tmp_path / "e_page.png")
    return tmp_path, page


def test_pages_expand_and_render_at_the_dpi(docs):
    folder, page = docs
    items = expand_inputs([str(folder / "a_scan.pdf")], dpi=300)
    assert [i.name.rsplit("/", 1)[1] for i in items] == ["a_scan.pdf#page1", "a_scan.pdf#page2", "a_scan.pdf#page3"]
    img, dpi = load_item_dpi(items[1])
    assert img.shape == (2 * page.shape[0], 2 * page.shape[1], 3) and dpi == pytest.approx(300, rel=0.01)
    small = load_item(expand_inputs([str(folder / "a_scan.pdf#page2")], dpi=150)[0])
    assert small.shape == page.shape
    assert np.abs(small.astype(int) - page[::-1]).mean() < 8  # the page as drawn, upside down
    with pytest.raises(ValueError, match="dpi must be within"):
        expand_inputs([str(folder / "a_scan.pdf")], dpi=0)
    pages = document_items((folder / "a_scan.pdf").read_bytes(), dpi=150, name="scan")
    assert [p.name for p in pages] == ["scan#page1", "scan#page2", "scan#page3"]
    assert load_item(pages[0]).shape == page.shape


def test_pixel_limit_lowers_the_dpi_and_refuses_enormous_pages(monkeypatch):
    pdf = image_pdf([np.full((100, 200, 3), 255, np.uint8)], dpi=72)  # 200 x 100 points
    monkeypatch.setattr(images, "MAX_PIXELS", 200 * 100 * 4)
    img, _ = pdfmod.render_pdf_page(pdf, 0, 300, "big.pdf")
    assert img.shape[0] * img.shape[1] <= 200 * 100 * 4 and img.shape[1] >= 390  # ~144 dpi, not 300
    monkeypatch.setattr(images, "MAX_PIXELS", 200 * 100 // 16)  # 18 dpi
    with pytest.raises(ImageError, match=r"^big.pdf: page 1 is too large"):
        pdfmod.render_pdf_page(pdf, 0, 300, "big.pdf")


def test_bad_pdfs_in_a_batch(docs, fake_models, capsys):  # noqa: F811
    folder, _ = docs
    status = main(["read", str(folder), "--format", "json", "--dpi", "150"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    names = [r["image"].rsplit("/", 1)[1] for r in rows]
    assert names == ["a_scan.pdf#page1", "a_scan.pdf#page2", "a_scan.pdf#page3", "b_encrypted.pdf",
                     "c_damaged.pdf", "d_empty.pdf", "e_page.png"]
    assert status == 1
    assert [ln["text"] for ln in rows[0]["lines"]] == ["word word", "word"]
    assert rows[0]["width"] == rows[6]["width"]  # rendered at the dpi it was made at
    errors = [e for e in err.splitlines() if e.startswith("ocr read: ") and "inputs failed" not in e]
    assert errors == [f"ocr read: {folder}/b_encrypted.pdf: PDF is encrypted (a password is needed)",
                      f"ocr read: {folder}/c_damaged.pdf: not a readable PDF (Failed to load document "
                      "(PDFium: Data format error).)",
                      f"ocr read: {folder}/d_empty.pdf: empty file"]


def test_reader_reads_pdf_paths_and_bytes(docs, fake_models):  # noqa: F811
    folder, page = docs
    reader = Reader(orientation=False)
    first = reader.read(str(folder / "a_scan.pdf"))
    assert first.text == "word word\nword" and first.width == page.shape[1] * 2  # 300 dpi
    pages = reader.read_document((folder / "a_scan.pdf").read_bytes(), dpi=150)
    assert [p.image for p in pages] == ["<bytes>#page1", "<bytes>#page2", "<bytes>#page3"]
    assert pages[2].text == "word word\nword"
    with pytest.raises(ImageError, match="b_encrypted.pdf: PDF is encrypted"):
        reader.read_document(folder / "b_encrypted.pdf")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_read_pdf_to_a_searchable_pdf(docs, fake_models, tmp_path, capsys):  # noqa: F811
    folder, _ = docs
    out = tmp_path / "out.pdf"
    assert main(["read", str(folder / "a_scan.pdf"), "--format", "pdf", "-o", str(out), "--dpi", "150"]) == 0
    xml = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, check=True, text=True).stdout
    pages = xml.split("<page ")[1:]
    assert len(pages) == 3 and all('width="192.000000" height="144.000000"' in p for p in pages)  # 400x300 px
    boxes = [[float(v) for v in re.findall(r'"([\d.]+)"', w)] for w in re.findall(r"<word ([^>]*)>word</word>", pages[0])]
    want = sorted([x * 72 / 150, y * 72 / 150, (x + w) * 72 / 150, (y + h) * 72 / 150] for x, y, w, h in WORDS)
    assert np.allclose(sorted(boxes), want, atol=1.5)  # points; the words sit where the image shows them


def test_document_formats_per_file_and_as_one_stream(docs, fake_models, tmp_path, capsys):  # noqa: F811
    folder, _ = docs
    status = main(["read", str(folder), "--format", "hocr", "--out-dir", str(tmp_path / "hocr"), "--dpi", "150"])
    assert status == 1  # the bad PDFs are reported, the others written
    files = sorted(p.name for p in (tmp_path / "hocr").iterdir())
    assert files == ["00001_a_scan.hocr", "00002_e_page.hocr"]
    assert (tmp_path / "hocr" / files[0]).read_text().count("class=\"ocr_page\"") == 3
    capsys.readouterr()
    assert main(["read", str(folder / "e_page.png"), str(folder / "a_scan.pdf"), "--format", "alto", "--dpi", "150"]) == 0
    alto = capsys.readouterr().out
    assert alto.startswith("<?xml") and alto.count("<Page ") == 4 and alto.count("CONTENT=\"word\"") == 12


def test_text_layer_is_ocred_unless_asked_to_use_it(tmp_path, fake_models, capsys):  # noqa: F811
    pdf = FPDF(unit="pt")
    pdf.add_page(format=(400, 200))
    pdf.set_font("helvetica", size=20)
    pdf.text(50, 60, "Hello digital world")
    pdf.text(50, 120, "Line two")
    (tmp_path / "digital.pdf").write_bytes(bytes(pdf.output()))
    (tmp_path / "scan.pdf").write_bytes(image_pdf([page_with_words(WORDS)], dpi=150))
    assert main(["read", str(tmp_path / "digital.pdf"), str(tmp_path / "scan.pdf"), "--format", "json",
                 "--dpi", "144"]) == 0
    ocred = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(ln["text"] == "word" or ln["text"].startswith("word ") for r in ocred for ln in r["lines"])
    assert main(["read", str(tmp_path / "digital.pdf"), str(tmp_path / "scan.pdf"), "--format", "json",
                 "--dpi", "144", "--pdf-text", "use"]) == 0
    digital, scan = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [ln["text"] for ln in digital["lines"]] == ["Hello digital world", "Line two"]
    assert (digital["width"], digital["height"]) == (800, 400)
    xs = [pt[0] for pt in digital["lines"][0]["polygon"]]
    assert 95 <= min(xs) <= 105  # "Hello" starts 50 points from the left: 100 px at 144 dpi
    assert [ln["text"] for ln in scan["lines"]] == [ln["text"] for ln in ocred[1]["lines"]]  # no text layer: OCR
