"""Pages out as standard documents: hOCR 1.2, ALTO v4 XML and searchable PDF.

    from ocr.export import export
    export(pages, "hocr")                     # str; "alto" likewise
    export(pages, "pdf", images=[img, ...])   # bytes: each image with an invisible text layer
"""
from __future__ import annotations

from ocr.export.alto import to_alto
from ocr.export.hocr import to_hocr
from ocr.export.pdf import to_pdf

FORMATS = ("hocr", "alto", "pdf")


def export(pages, fmt: str, images=None, dpi=None):
    """``pages`` (a Page or a list) as ``fmt``: hOCR or ALTO text, or searchable-PDF bytes.

    ``images`` (pdf only): the page images, RGB uint8, one per page; ``dpi``: their resolution
    (one number or one per page, default 300), which sets the PDF page size."""
    pages = [pages] if not isinstance(pages, (list, tuple)) else list(pages)
    if fmt == "hocr":
        return to_hocr(pages)
    if fmt == "alto":
        return to_alto(pages)
    if fmt == "pdf":
        if images is None:
            raise ValueError("export to pdf needs the page images")
        return to_pdf(pages, images, dpi)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
