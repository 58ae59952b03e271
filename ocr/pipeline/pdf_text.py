"""Words of a PDF page's own text layer (``ocr read --pdf-text use``), with boxes in the pixels of
the page as rendered, so that born-digital pages need no OCR."""
from __future__ import annotations

import math

from ocr.pipeline.pdf import open_pdf, render_dpi
from ocr.types import Page, Word


def text_layer_words(src, page: int, dpi: float, name: str = "<pdf>") -> tuple[list[Word], tuple[int, int]]:
    """The page's text split at whitespace into words, each with its box (score 1.0; none when the
    page has no text layer), and the page's size in pixels (width, height) as rendered at ``dpi``."""
    doc = open_pdf(src, name)
    try:
        pdf_page = doc[page]
        width, height = pdf_page.get_size()
        scale = render_dpi((width, height), dpi) / 72.0
        textpage = pdf_page.get_textpage()
        n = textpage.count_chars()
        text = textpage.get_text_range(0, n) if n else ""
        boxes = [textpage.get_charbox(i) for i in range(n)] if len(text) == n else []
    finally:
        doc.close()
    words, chars, box = [], [], None
    for ch, b in zip(text, boxes):
        if ch.isspace():
            if chars:
                words.append(_word("".join(chars), box, height, scale))
            chars, box = [], None
            continue
        chars.append(ch)
        box = b if box is None else (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3]))
    if chars:
        words.append(_word("".join(chars), box, height, scale))
    return words, (math.ceil(width * scale), math.ceil(height * scale))


def _word(text: str, box, page_height: float, scale: float) -> Word:
    """A word from a box in PDF points (left, bottom, right, top; y up) -> pixels (y down)."""
    x0, y0, x1, y1 = (box[0] * scale, (page_height - box[3]) * scale, box[2] * scale, (page_height - box[1]) * scale)
    return Word(text, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], 1.0, 1.0)


def text_layer_page(item) -> Page | None:
    """A Page (lines in reading order) from a PDF page item's text layer, or None when the item is
    not a PDF page or its page holds no text (or cannot be opened: reading it reports that)."""
    from ocr.data.images import ImageError
    from ocr.pipeline.inputs import pdf_source
    from ocr.pipeline.layout import build_lines

    src = pdf_source(item) if item.error is None else None
    if src is None:
        return None
    try:
        words, (width, height) = text_layer_words(src, item.page, item.dpi, item.name)
    except (ImageError, IndexError):
        return None
    if not words:
        return None
    return Page(image=item.name, width=width, height=height, lines=build_lines(words))
