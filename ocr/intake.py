"""Uploaded or fetched bytes -> the pages to read: the one entry point of ``ocr batch`` and ``ocr serve``.

An image gives one page; a multi-page TIFF or a PDF (recognised by its signature, pages rendered
at ``dpi`` within the pixel limit, as ``ocr read`` renders them) one per page, named
``name#pageN`` as ``ocr read`` names them.
"""
from __future__ import annotations

import io

import numpy as np

from ocr.data.images import ImageError
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
        n = _frame_count(data)
        if n > 1:
            return [(f"{name}#page{i + 1}", _tiff_page(data, i, f"{name}#page{i + 1}")) for i in range(n)]
    from ocr.pipeline.inputs import load_image

    return [load_image(data, name)[::-1]]


def _frame_count(data: bytes) -> int:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception:
        return 1  # decoding reports the error


def _tiff_page(data: bytes, page: int, name: str) -> np.ndarray:
    from ocr.data.images import check_pixels

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(page)
            check_pixels(im.size, name)
            return np.asarray(im.convert("RGB"))
    except ImageError:
        raise
    except Exception as e:
        raise ImageError(f"{name}: not a readable image ({e.__class__.__name__}: {e})") from None


def read_pages(reader, pages: list[tuple[str, np.ndarray]]):
    """Read decoded pages with ``reader`` -> Pages named as given."""
    done = reader.read_batch([img for _, img in pages], errors="return", chunk=max(1, len(pages)))
    for (name, _), page in zip(pages, done):
        page.image = name
    return done
