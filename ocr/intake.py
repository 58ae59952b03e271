"""Uploaded or fetched bytes -> the pages to read: the one entry point of ``ocr batch`` and ``ocr serve``.

An image gives one page; a multi-page TIFF or a PDF (recognised by its signature, pages rendered
at ``dpi`` within the pixel limit, as ``ocr read`` renders them) one per page, named
``name#pageN`` as ``ocr read`` names them.
"""
from __future__ import annotations

import numpy as np

from ocr.data.images import ImageError
from ocr.pipeline.inputs import decode_tiff_page, load_image, tiff_page_count
from ocr.pipeline.pdf import DPI, is_pdf, pdf_page_count, render_pdf_page

_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*")


class TooManyPages(ImageError):
    """A document with more pages than the caller allows; the message names it."""


def pages_from_bytes(data: bytes, name: str, max_pages: int | None = None,
                     dpi: float = DPI) -> list[tuple[str, np.ndarray]]:
    """``[(page name, RGB uint8 (H, W, 3))]`` for one file's bytes; raises ImageError naming ``name``
    (``TooManyPages`` past ``max_pages``, checked before any page is rendered)."""
    if is_pdf(data):
        n = pdf_page_count(data, name)
        if max_pages is not None and n > max_pages:
            raise TooManyPages(f"{name}: {n} pages, more than the limit of {max_pages}")
        names = [f"{name}#page{i + 1}" if n > 1 else name for i in range(n)]
        return [(page, render_pdf_page(data, i, dpi, page)[0]) for i, page in enumerate(names)]
    if data[:4] in _TIFF_SIGNATURES:
        n = tiff_page_count(data)
        if n > 1:
            return [(f"{name}#page{i + 1}", decode_tiff_page(data, i, f"{name}#page{i + 1}")) for i in range(n)]

    return [load_image(data, name)[::-1]]


def read_pages(reader, pages: list[tuple[str, np.ndarray]]):
    """Read decoded pages with ``reader`` -> Pages named as given."""
    done = reader.read_batch([img for _, img in pages], errors="return", chunk=max(1, len(pages)))
    for (name, _), page in zip(pages, done):
        page.image = name
    return done
