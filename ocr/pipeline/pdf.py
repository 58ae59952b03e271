"""PDF pages as images, rendered with PDFium (pypdfium2).

A page is rendered at ``dpi`` (default 300), lowered where needed so that it stays within the
pixel limit of images (``MAX_PIXELS``). Encrypted, damaged and empty files, files of more than
``MAX_PAGES`` pages and pages too large to render at ``MIN_DPI`` within the limit raise
``ImageError`` with a one-line message naming the file.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ocr.data import images
from ocr.data.images import ImageError

DPI = 300
MAX_DPI = 1200
MIN_DPI = 30  # a page that only fits the pixel limit below this is refused as too large
MAX_PAGES = 10_000


def is_pdf(x) -> bool:
    """A path ending in ``.pdf``, or bytes starting with the PDF signature."""
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x[:5]) == b"%PDF-"
    return os.fspath(x).lower().endswith(".pdf")


def open_pdf(src, name: str):
    """A ``PdfDocument`` for a path or bytes; ImageError naming ``name`` when it cannot be opened."""
    import pypdfium2 as pdfium

    if isinstance(src, (bytes, bytearray, memoryview)):
        src = bytes(src)
        if not src:
            raise ImageError(f"{name}: empty file")
    else:
        try:
            if os.path.getsize(src) == 0:
                raise ImageError(f"{name}: empty file")
        except OSError as e:
            raise ImageError(f"{name}: cannot read ({e.strerror})") from None
    try:
        return pdfium.PdfDocument(src)
    except pdfium.PdfiumError as e:
        if "password" in str(e).lower():
            raise ImageError(f"{name}: PDF is encrypted (a password is needed)") from None
        raise ImageError(f"{name}: not a readable PDF ({' '.join(str(e).split())})") from None


def pdf_page_count(src, name: str) -> int:
    """Number of pages; ImageError for a file that cannot be opened or has no pages."""
    doc = open_pdf(src, name)
    try:
        n = len(doc)
    finally:
        doc.close()
    if n < 1:
        raise ImageError(f"{name}: PDF has no pages")
    if n > MAX_PAGES:
        raise ImageError(f"{name}: PDF is too large ({n} pages; limit {MAX_PAGES})")
    return n


def render_dpi(size_pt: tuple[float, float], dpi: float) -> float:
    """``dpi``, lowered so that a page of ``size_pt`` (points) renders within ``MAX_PIXELS``."""
    w, h = (max(float(s), 1e-3) for s in size_pt)
    cap = 72.0 * math.sqrt(images.MAX_PIXELS / (w * h))  # read now: the limit may be changed at run time
    return min(float(dpi), cap)


def render_pdf_page(src, page: int, dpi: float = DPI, name: str = "<pdf>") -> tuple[np.ndarray, tuple[float, float]]:
    """Page ``page`` (0-based) as RGB uint8 (H, W, 3), and the page size in points (w, h)."""
    if not 0 < dpi <= MAX_DPI:
        raise ImageError(f"{name}: dpi must be within (0, {MAX_DPI}], got {dpi}")
    doc = open_pdf(src, name)
    try:
        n = len(doc)
        if not 0 <= page < n:
            raise ImageError(f"{name}: no page {page + 1} (the PDF has {n})")
        try:
            pdf_page = doc[page]
            size = pdf_page.get_size()
            scale = render_dpi(size, dpi) / 72.0
            if scale * 72.0 < min(MIN_DPI, dpi):
                raise ImageError(f"{name}: page {page + 1} is too large ({size[0]:.0f}x{size[1]:.0f} points; "
                                 f"limit {images.MAX_PIXELS} pixels at {MIN_DPI} dpi)")
            if size[0] * scale < 1 or size[1] * scale < 1:
                raise ImageError(f"{name}: page {page + 1} has no pixels")
            bitmap = pdf_page.render(scale=scale, may_draw_forms=True)
            img = np.asarray(bitmap.to_pil().convert("RGB"))
        except ImageError:
            raise
        except Exception as e:  # PDFium failures on damaged pages
            raise ImageError(f"{name}: cannot render page {page + 1} ({e.__class__.__name__}: {e})") from None
    finally:
        doc.close()
    return img, (float(size[0]), float(size[1]))
