"""Curved text: Total-Text (word polygons) and SCUT-CTW1500 (line polygons).

Layout: ``SRC/images/<stem>.jpg`` with ``SRC/gt/<gt file>``.
- Total-Text (``poly_gt_<stem>.txt`` | ``gt_<stem>.txt`` | ``<stem>.txt``), one record per
  instance (a record may wrap over several lines):
  ``x: [[115 503 494 115]], y: [[322 346 426 404]], ornt: [u'm'], transcriptions: [u'text']``;
  orientation or transcription ``#`` = don't care. -> ``words``.
- CTW1500 XML (``<stem>.xml``): ``<box ...><label>text</label><segs>x1,y1,...,x14,y14</segs>``;
  txt (``<stem>.txt`` | ``gt_<stem>.txt``): ``x1,y1,...,xn,yn,####text`` (``###`` = don't care)
  or the original 32-number form ``xmin,ymin,xmax,ymax,dx1,dy1,...,dx14,dy14`` (offsets from
  xmin,ymin, no text). -> ``lines``.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .common import (Report, SkipSample, box_polygon, det_annotation, instance, load_image,
                     make_polygon, read_text)
from .icdar import pair_items

TT_PATTERNS = ("poly_gt_{stem}.txt", "gt_{stem}.txt", "{stem}.txt")
CTW_PATTERNS = ("{stem}.xml", "{stem}.txt", "gt_{stem}.txt")
_TT_RECORD = re.compile(
    r"x:\s*\[\[(?P<x>.*?)\]\],\s*y:\s*\[\[(?P<y>.*?)\]\],\s*ornt:\s*\[(?P<o>.*?)\],\s*"
    r"transcriptions:\s*\[(?P<t>.*)\]\s*$", re.S)
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _unquote(s: str) -> str:
    """``u'text'`` / ``"text"`` -> ``text``."""
    s = s.strip()
    if s[:1] in "uU" and s[1:2] in "'\"":
        s = s[1:]
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
    return s


def parse_totaltext_record(rec: str) -> dict:
    """One Total-Text record -> word instance. Raises ValueError when malformed."""
    m = _TT_RECORD.match(rec.strip())
    if not m:
        raise ValueError("expected 'x: [[..]], y: [[..]], ornt: [..], transcriptions: [..]'")
    xs = [float(v) for v in _NUM.findall(m["x"])]
    ys = [float(v) for v in _NUM.findall(m["y"])]
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} x values but {len(ys)} y values")
    text, ornt = _unquote(m["t"]), _unquote(m["o"])
    poly = make_polygon([c for xy in zip(xs, ys) for c in xy])
    return instance(poly, text, ignore=text == "#" or ornt == "#")


def parse_totaltext(gt: Path, report: Report) -> list[dict]:
    """All records of a Total-Text gt file; malformed records are warned about and counted."""
    content = read_text(gt)
    words = []
    for m in re.finditer(r"x:\s*\[\[.*?(?=x:\s*\[\[|\Z)", content, re.S):
        lineno = content.count("\n", 0, m.start()) + 1
        try:
            words.append(parse_totaltext_record(m.group(0)))
        except ValueError as e:
            report.bad_line(gt, lineno, str(e))
    rest = re.sub(r"x:\s*\[\[.*?(?=x:\s*\[\[|\Z)", "", content, flags=re.S)
    if rest.strip():
        report.bad_line(gt, 1, f"unparsed text before the first record: {rest.strip()[:40]!r}")
    return words


def parse_ctw_txt_line(line: str) -> dict:
    """One CTW1500 txt line -> line instance. Raises ValueError when malformed."""
    coords, sep, text = line.partition("####")
    nums = [float(v) for v in coords.strip().strip(",").split(",") if v.strip()]
    if not sep:
        if len(nums) != 32:
            raise ValueError(f"expected 'x1,y1,...,####text' or 32 numbers, got {len(nums)} numbers")
        x0, y0 = nums[0], nums[1]
        nums = [v + (x0 if k % 2 == 0 else y0) for k, v in enumerate(nums[4:])]
    return instance(make_polygon(nums), text, ignore=text.strip() == "###")


def _ctw_box(box: ET.Element) -> dict:
    """One CTW1500 XML ``<box>`` -> line instance. Raises ValueError."""
    text = (box.findtext("label") or "").strip()
    segs = box.findtext("segs")
    pts = box.findall("pts")
    if segs and segs.strip():
        poly = make_polygon([float(v) for v in segs.replace(" ", "").strip(",").split(",")])
    elif pts:
        poly = make_polygon([[float(p.get("x")), float(p.get("y"))] for p in pts])
    else:
        left, top = float(box.get("left")), float(box.get("top"))
        poly = box_polygon(left, top, left + float(box.get("width")), top + float(box.get("height")))
    return instance(poly, text, ignore=text == "###")


def parse_ctw1500(gt: Path, report: Report) -> list[dict]:
    """All instances of a CTW1500 gt file (XML or txt)."""
    if gt.suffix.lower() == ".xml":
        try:
            boxes = ET.fromstring(read_text(gt)).iter("box")
        except ET.ParseError as e:
            raise SkipSample(f"{gt}: malformed XML ({e})") from None
        lines = []
        for k, box in enumerate(boxes, 1):
            try:
                lines.append(_ctw_box(box))
            except (ValueError, TypeError) as e:
                report.bad_line(gt, k, f"box {k}: {e}")
        return lines
    lines = []
    for lineno, line in enumerate(read_text(gt).split("\n"), 1):
        if line.strip():
            try:
                lines.append(parse_ctw_txt_line(line.rstrip("\r")))
            except ValueError as e:
                report.bad_line(gt, lineno, str(e))
    return lines


def list_totaltext(src: Path, report: Report) -> list[tuple]:
    return pair_items(src, report, patterns=TT_PATTERNS)


def list_ctw1500(src: Path, report: Report) -> list[tuple]:
    return pair_items(src, report, patterns=CTW_PATTERNS)


def load_totaltext(item: tuple, report: Report) -> tuple[bytes, dict]:
    """Image bytes and annotation with ``words``."""
    img_path, gt = item
    data, img = load_image(img_path, report)
    return data, det_annotation(img, words=parse_totaltext(gt, report))


def load_ctw1500(item: tuple, report: Report) -> tuple[bytes, dict]:
    """Image bytes and annotation with ``lines``."""
    img_path, gt = item
    data, img = load_image(img_path, report)
    return data, det_annotation(img, lines=parse_ctw1500(gt, report))
