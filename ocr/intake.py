"""Uploaded or fetched bytes -> the pages to read: the one entry point of ``ocr batch`` and ``ocr serve``.

An image gives one page (a multi-page TIFF one per page, named ``name#pageN`` as ``ocr read``
names them). A PDF is recognised by its signature and refused with ``UnsupportedInput`` until
PDF rendering is available in the input layer.
"""
from __future__ import annotations

import io

import numpy as np

from ocr.data.images import ImageError

PDF_SIGNATURE = b"%PDF-"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*")


class UnsupportedInput(ImageError):
    """A file of a kind this build cannot read (e.g. a PDF); the message names it."""


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip()[:5] == PDF_SIGNATURE


def pages_from_bytes(data: bytes, name: str) -> list[tuple[str, np.ndarray]]:
    """``[(page name, RGB uint8 (H, W, 3))]`` for one file's bytes; raises ImageError naming ``name``."""
    if is_pdf(data):
        raise UnsupportedInput(f"{name}: PDF input is not available in this version; send images")
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
    from ocr.pipeline.inputs import _check_pixels

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(page)
            _check_pixels(im.size, name)
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
