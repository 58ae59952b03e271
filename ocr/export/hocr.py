"""hOCR 1.2 as Tesseract writes it: ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word, each with
its ``bbox``; words carry ``x_wconf`` (0-100), lines their ``baseline``."""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from ocr.version import __version__
from ocr.export.geometry import baseline, bbox, text_direction, union

XHTML = "http://www.w3.org/1999/xhtml"
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
         '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n')


def to_hocr(pages) -> str:
    """One hOCR document holding ``pages`` (Pages that failed are left out)."""
    html = ET.Element("html", {"xmlns": XHTML, "xml:lang": "en", "lang": "en"})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = ""
    ET.SubElement(head, "meta", {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"})
    ET.SubElement(head, "meta", {"name": "ocr-system", "content": f"ocr-toolkit {__version__}"})
    ET.SubElement(head, "meta", {"name": "ocr-capabilities",
                                 "content": "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"})
    body = ET.SubElement(html, "body")
    for n, page in enumerate((p for p in pages if p.error is None), 1):
        _page(body, page, n)
    ET.indent(html, space=" ")
    return _HEAD + ET.tostring(html, encoding="unicode") + "\n"


def _title(box, **props) -> str:
    parts = ["bbox {} {} {} {}".format(*box)] + [f"{k} {v}" for k, v in props.items()]
    return "; ".join(parts)


def _page(body, page, n: int) -> None:
    W, H = page.width, page.height
    div = ET.SubElement(body, "div", {"class": "ocr_page", "id": f"page_{n}",
                                      "title": f'image "{page.image}"; bbox 0 0 {W} {H}; ppageno {n - 1}'})
    line_ids, word_ids = itertools.count(1), itertools.count(1)
    direction = text_direction([w.polygon for w in page.words], page.rotation)
    for b, lines in enumerate(page.blocks, 1):
        lboxes = [bbox(line.polygon, W, H) for line in lines]
        area = ET.SubElement(div, "div", {"class": "ocr_carea", "id": f"block_{n}_{b}", "title": _title(union(lboxes))})
        par = ET.SubElement(area, "p", {"class": "ocr_par", "id": f"par_{n}_{b}", "title": _title(union(lboxes))})
        for line, lbox in zip(lines, lboxes):
            slope, offset = baseline(line.polygon, lbox, direction)
            span = ET.SubElement(par, "span", {"class": "ocr_line", "id": f"line_{n}_{next(line_ids)}", "title": _title(
                lbox, baseline=f"{slope:g} {offset}", x_size=max(lbox[3] - lbox[1], 1))})
            for word in line.words:
                ET.SubElement(span, "span", {"class": "ocrx_word", "id": f"word_{n}_{next(word_ids)}", "title": _title(
                    bbox(word.polygon, W, H), x_wconf=int(round(100 * word.score)))}).text = word.text
