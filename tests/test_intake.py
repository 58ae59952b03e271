"""Bytes -> pages, the one entry point of ``ocr batch`` and ``ocr serve``."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ocr.data.images import ImageError
from ocr.intake import pages_from_bytes
from ocr.pipeline.inputs import expand_inputs, load_item


def test_images_tiff_pages_and_refusals(tmp_path):
    pages = [np.full((20, 30, 3), v, np.uint8) for v in (10, 120, 250)]
    frames = [Image.fromarray(p) for p in pages]
    frames[0].save(tmp_path / "doc.tif", save_all=True, append_images=frames[1:])
    data = (tmp_path / "doc.tif").read_bytes()
    got = pages_from_bytes(data, "doc.tif")
    items = expand_inputs([str(tmp_path / "doc.tif")])  # named and decoded as ocr read does
    assert [n for n, _ in got] == [i.name.rsplit("/", 1)[-1] for i in items] == ["doc.tif#page1", "doc.tif#page2", "doc.tif#page3"]
    assert all(np.array_equal(img, load_item(i)) for (_, img), i in zip(got, items))

    buf = io.BytesIO()
    frames[1].save(buf, format="PNG")
    [(name, img)] = pages_from_bytes(buf.getvalue(), "one.png")
    assert name == "one.png" and np.array_equal(img, pages[1])

    with pytest.raises(ImageError, match="scan.pdf: not a readable PDF"):
        pages_from_bytes(b"%PDF-1.7\n...", "scan.pdf")
    with pytest.raises(ImageError, match="junk.png: not a readable image"):
        pages_from_bytes(b"junk", "junk.png")
    with pytest.raises(ImageError, match="empty.png: empty file"):
        pages_from_bytes(b"", "empty.png")


def test_pdf_pages_are_rendered_as_ocr_read_renders_them(tmp_path):
    from helpers import image_pdf
    from ocr.intake import TooManyPages

    rng = np.random.default_rng(0)
    pages = [rng.integers(0, 255, (120, 90, 3), dtype=np.uint8) for _ in range(2)]
    data = image_pdf(pages, dpi=150)
    (tmp_path / "doc.pdf").write_bytes(data)
    got = pages_from_bytes(data, "doc.pdf")
    items = expand_inputs([str(tmp_path / "doc.pdf")])
    assert [n for n, _ in got] == [i.name.rsplit("/", 1)[-1] for i in items] == ["doc.pdf#page1", "doc.pdf#page2"]
    assert all(np.array_equal(img, load_item(i)) for (_, img), i in zip(got, items))
    with pytest.raises(TooManyPages, match="doc.pdf: 2 pages, more than the limit of 1"):
        pages_from_bytes(data, "doc.pdf", max_pages=1)
