"""Searchable PDF (fpdf2): each page is its image, with the words as invisible text (render mode 3)
laid over the words of the image, so that selecting, copying and searching work in a viewer.

Each word is set in Helvetica, sized to the height of its box and stretched to its length, on a
baseline along the page's text direction (turned with the word's skew or the page's rotation)."""
from __future__ import annotations

import io
import math

import numpy as np

from ocr.export.geometry import frame, text_direction

DPI = 300
_ASCENT, _DESCENT = 0.718, 0.207  # Helvetica, as fractions of the font size


def to_pdf(pages, images, dpi=None) -> bytes:
    """One PDF with a page per (Page, image) pair; failed Pages are left out. An image is RGB uint8
    or encoded JPEG bytes of the page's size. ``dpi``: one number or one per page (default 300)
    giving the page size in points (pixels * 72 / dpi)."""
    from fpdf import FPDF

    dpis = list(dpi) if isinstance(dpi, (list, tuple)) else [dpi or DPI] * len(pages)
    if not len(pages) == len(images) == len(dpis):
        raise ValueError(f"export to pdf: {len(pages)} pages, {len(images)} images and {len(dpis)} dpi values")
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator("ocr-toolkit")
    for page, img, d in zip(pages, images, dpis):
        if page.error is None:
            _page(pdf, page, img, 72.0 / float(d or DPI))
    return bytes(pdf.output())


def _page(pdf, page, img, scale: float) -> None:
    from fpdf.enums import TextMode

    w, h = page.width, page.height
    pdf.add_page(format=(w * scale, h * scale))
    data = io.BytesIO(img) if isinstance(img, (bytes, bytearray)) else io.BytesIO(jpeg(img))
    pdf.image(data, x=0, y=0, w=w * scale, h=h * scale)
    pdf.text_mode = TextMode.INVISIBLE
    direction = text_direction([wd.polygon for wd in page.words], page.rotation)
    angle = -math.degrees(math.atan2(direction[1], direction[0]))  # counter-clockwise, as PDF turns
    for word in page.words:
        text = word.text.encode("latin-1", "replace").decode("latin-1")
        start, length, height = frame(word.polygon, direction)
        if not text or length <= 0 or height <= 0:
            continue
        size = height * scale / (_ASCENT + _DESCENT)
        pdf.set_font("helvetica", size=size)
        x, y = start * scale - np.array([-direction[1], direction[0]]) * _DESCENT * size
        pdf.set_stretching(100.0)
        natural = pdf.get_string_width(text)
        pdf.set_stretching(100.0 * length * scale / natural if natural > 0 else 100.0)
        with pdf.rotation(angle, x=float(x), y=float(y)):
            pdf.text(float(x), float(y), text)
    pdf.set_stretching(100.0)
    pdf.text_mode = TextMode.FILL


def jpeg(img: np.ndarray) -> bytes:
    """The page image as JPEG (embedded as is, so the PDF stays the size of the scan)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(img)).convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue()
