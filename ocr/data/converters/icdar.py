"""ICDAR2015 (oriented quads) and ICDAR2013 (axis-aligned boxes) word detection sets.

Layout: ``SRC/images/img_N.jpg`` with ``SRC/gt/gt_img_N.txt``.
- ICDAR2015 line: ``x1,y1,x2,y2,x3,y3,x4,y4,text``; the text may hold commas; ``###`` = don't care.
- ICDAR2013 line: ``left, top, right, bottom, "word"`` (born-digital, commas) or
  ``left top right bottom "word"`` (focused scene text, spaces); ``\\"`` in the word is a quote.
  ICDAR2013 boxes are inclusive pixel ranges (a 1-px hyphen has top == bottom), so the stored
  polygon spans ``left..right+1`` x ``top..bottom+1`` and covers the annotated pixels.
"""
from __future__ import annotations

import re
from pathlib import Path

from .common import (Report, box_polygon, det_annotation, find_gt, instance, list_images,
                     load_image, make_polygon, read_text)

GT_PATTERNS = ("gt_{stem}.txt", "{stem}.txt", "gt_{stem}.TXT")
DONT_CARE = "###"
_ESCAPE = re.compile(r'\\(["\\])')
_SEP = r"(?:\s*,\s*|\s+)"
_IC13 = re.compile(r"^\s*" + _SEP.join([r"(-?\d+(?:\.\d+)?)"] * 4) + _SEP + r"(.*?)\s*$")


def _dont_care(text: str) -> bool:
    """``###`` or an empty/blank transcription marks a don't-care region."""
    return text.strip() in (DONT_CARE, "")


def pair_items(src: Path, report: Report, patterns=GT_PATTERNS, gt_name: str = "gt") -> list[tuple]:
    """(image, gt file) pairs of ``SRC/images`` + ``SRC/<gt_name>``; images without gt are skipped."""
    src = Path(src)
    items = []
    for img in list_images(src / "images"):
        gt = find_gt(src / gt_name, img, patterns)
        if gt is None:
            report.skipped_images += 1
            report.warn(img, f"no ground-truth file in {src / gt_name}")
        else:
            items.append((img, gt))
    return items


def parse_ic15_line(line: str) -> dict:
    """One ICDAR2015 gt line -> word instance. Raises ValueError when malformed."""
    parts = line.split(",", 8)
    if len(parts) < 9:
        raise ValueError("expected 8 coordinates and a transcription")
    poly = make_polygon([float(v) for v in parts[:8]])
    text = parts[8]
    return instance(poly, text, ignore=_dont_care(text))


def parse_ic13_line(line: str) -> dict:
    """One ICDAR2013 gt line -> word instance. Raises ValueError when malformed."""
    m = _IC13.match(line)
    if not m:
        raise ValueError('expected \'left, top, right, bottom, "word"\'')
    left, top, right, bottom = (float(v) for v in m.groups()[:4])
    text = m.group(5)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = _ESCAPE.sub(r"\1", text[1:-1])
    return instance(box_polygon(left, top, right + 1, bottom + 1), text, ignore=_dont_care(text))


def parse_lines(gt: Path, parse, report: Report) -> list[dict]:
    """Parse every non-blank line of a gt file; malformed lines are warned about and counted."""
    words = []
    for lineno, line in enumerate(read_text(gt).split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            words.append(parse(line))
        except ValueError as e:
            report.bad_line(gt, lineno, str(e))
    return words


def _load(item: tuple, report: Report, parse) -> tuple[bytes, dict]:
    img_path, gt = item
    data, img = load_image(img_path, report)
    return data, det_annotation(img, words=parse_lines(gt, parse, report))


def load_ic15(item: tuple, report: Report) -> tuple[bytes, dict]:
    """Image bytes and ocr-det-v1 annotation with ``words``."""
    return _load(item, report, parse_ic15_line)


def load_ic13(item: tuple, report: Report) -> tuple[bytes, dict]:
    """Image bytes and ocr-det-v1 annotation with ``words``."""
    return _load(item, report, parse_ic13_line)
