"""ALTO v4 XML: Description (pixel units, source image, software), then Layout > Page > PrintSpace >
TextBlock > TextLine > String (CONTENT, HPOS, VPOS, WIDTH, HEIGHT, WC, and the word's polygon as
Shape) with SP between words."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ocr.version import __version__
from ocr.export.geometry import bbox, union

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.loc.gov/alto/v4/alto-4-2.xsd"


def to_alto(pages) -> str:
    """One ALTO document holding ``pages`` (Pages that failed are left out)."""
    pages = [p for p in pages if p.error is None]
    alto = ET.Element("alto", {"xmlns": ALTO_NS, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{ALTO_NS} {SCHEMA}"})
    desc = ET.SubElement(alto, "Description")
    ET.SubElement(desc, "MeasurementUnit").text = "pixel"
    if pages:
        src = ET.SubElement(desc, "sourceImageInformation")
        ET.SubElement(src, "fileName").text = pages[0].image.split("#page")[0]
    step = ET.SubElement(ET.SubElement(desc, "OCRProcessing", {"ID": "OCR_0"}), "ocrProcessingStep")
    soft = ET.SubElement(step, "processingSoftware")
    ET.SubElement(soft, "softwareName").text = "ocr-toolkit"
    ET.SubElement(soft, "softwareVersion").text = __version__
    layout = ET.SubElement(alto, "Layout")
    for n, page in enumerate(pages, 1):
        _page(layout, page, n)
    ET.indent(alto, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alto, encoding="unicode") + "\n"


def _pos(box) -> dict:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}


def _page(layout, page, n: int) -> None:
    W, H = page.width, page.height
    el = ET.SubElement(layout, "Page", {"ID": f"page_{n}", "PHYSICAL_IMG_NR": str(n),
                                        "WIDTH": str(W), "HEIGHT": str(H)})
    space = ET.SubElement(el, "PrintSpace", _pos((0, 0, W, H)))
    k = w = 0
    for b, lines in enumerate(page.blocks, 1):
        lboxes = [bbox(line.polygon, W, H) for line in lines]
        block = ET.SubElement(space, "TextBlock", {"ID": f"block_{n}_{b}", **_pos(union(lboxes))})
        for line, lbox in zip(lines, lboxes):
            k += 1
            tl = ET.SubElement(block, "TextLine", {"ID": f"line_{n}_{k}", **_pos(lbox)})
            for i, word in enumerate(line.words):
                w += 1
                wbox = bbox(word.polygon, W, H)
                if i:
                    prev = bbox(line.words[i - 1].polygon, W, H)
                    ET.SubElement(tl, "SP", {"WIDTH": str(max(wbox[0] - prev[2], 0)), "HPOS": str(prev[2]),
                                             "VPOS": str(prev[1])})
                s = ET.SubElement(tl, "String", {"ID": f"string_{n}_{w}", **_pos(wbox), "WC": f"{min(max(word.score, 0.0), 1.0):.3f}",
                                                 "CONTENT": word.text})
                points = " ".join(f"{x:g},{y:g}" for x, y in word.polygon)
                ET.SubElement(ET.SubElement(s, "Shape"), "Polygon", {"POINTS": points})
