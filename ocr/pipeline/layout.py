"""Words -> text lines -> reading order.

1. The page's main text direction is the median direction of the words' minimum-area rectangles
   (elongated words only); every polygon is turned by minus that angle so lines run horizontally.
2. Words join a line when they overlap vertically (by half of the smaller height), have similar
   heights, and the horizontal gap to the line's last word is at most ``GAP`` text heights.
3. Lines are ordered by recursive XY-cut: at each step the widest empty band between lines, across
   or along the page, splits them (top part before bottom, left before right), so a full-width
   title comes first and two columns are read one after the other. Parts side by side whose lines
   mostly share rows (a receipt's labels and their values, a form's fields and their entries) are
   not read one after the other unless both hold running text: they are cut between rows instead,
   or, where no empty band runs between the rows, read row by row.
4. Consecutive lines in reading order form one block (paragraph, column, table rows) while each
   continues the block on the same row or just below it (``BLOCK_GAP``), with similar heights.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.types import Line, Word

GAP = 1.2  # most text heights between two words of one line
OVERLAP = 0.5  # least vertical overlap, as a fraction of the smaller word height
PROSE = 8.0  # lines at least this many text heights long (median of a part) are running text
ALIGNED = 0.5  # parts side by side are a table when this fraction of their lines share a row
BLOCK_GAP = 1.0  # most empty text heights between two lines of one block


@dataclass
class _Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def h(self) -> float:
        return max(self.y1 - self.y0, 1e-3)

    def union(self, o: "_Box") -> "_Box":
        return _Box(min(self.x0, o.x0), min(self.y0, o.y0), max(self.x1, o.x1), max(self.y1, o.y1))


def page_angle(polygons: list[np.ndarray]) -> float:
    """Median direction (radians, within +-45 degrees) of the elongated polygons' long sides."""
    angles, weights = [], []
    for p in polygons:
        (_, _), (w, h), a = cv2.minAreaRect(np.asarray(p, np.float32).reshape(-1, 2))
        if min(w, h) < 1e-3 or max(w, h) < 1.5 * min(w, h):
            continue
        a = a if w >= h else a + 90.0
        a = (a + 45.0) % 90.0 - 45.0  # the direction nearest to horizontal
        angles.append(a)
        weights.append(max(w, h))
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.deg2rad(np.asarray(angles)[order][np.searchsorted(cum, cum[-1] / 2)]))


def _boxes(polygons: list[np.ndarray], angle: float) -> list[_Box]:
    """Axis-aligned boxes of the polygons after turning them by ``-angle``."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # rotation by -angle (y down)
    boxes = []
    for p in polygons:
        q = np.asarray(p, np.float64).reshape(-1, 2) @ rot.T
        boxes.append(_Box(q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()))
    return boxes


def _fits(last: np.ndarray, b: _Box) -> np.ndarray:
    """How well box ``b`` continues each line whose last word is a row of ``last`` (x1, y0, y1,
    height): 0 = not at all."""
    x1, y0, y1, h = last.T
    h_small, h_big = np.minimum(h, b.h), np.maximum(h, b.h)
    gap = b.x0 - x1
    overlap = np.minimum(y1, b.y1) - np.maximum(y0, b.y0)
    ok = (gap <= GAP * h_big) & (gap >= -0.5 * h_small) & (h_big <= 2.5 * h_small) & (overlap >= OVERLAP * h_small)
    return np.where(ok, overlap / h_small - 0.1 * np.maximum(gap, 0) / h_big, 0.0)


def group_words(boxes: list[_Box]) -> list[list[int]]:
    """Indices of boxes grouped into lines, each line left to right."""
    lines: list[list[int]] = []
    last = np.zeros((len(boxes), 4))  # per line: its last word's x1, y0, y1, height
    for i in sorted(range(len(boxes)), key=lambda k: boxes[k].x0):
        b = boxes[i]
        fits = _fits(last[:len(lines)], b)
        j = int(np.argmax(fits)) if len(lines) and fits.max() > 0 else len(lines)
        if j == len(lines):
            lines.append([])
        lines[j].append(i)
        last[j] = b.x1, b.y0, b.y1, b.h
    return lines


def _gaps(boxes: list[_Box], idx: list[int], axis: int) -> list[tuple[float, float]]:
    """Empty bands (start, end) between the boxes' projections on x (axis 0) or y (axis 1)."""
    spans = sorted((boxes[i].x0, boxes[i].x1) if axis == 0 else (boxes[i].y0, boxes[i].y1) for i in idx)
    gaps, end = [], spans[0][1]
    for a, b in spans[1:]:
        if a > end:
            gaps.append((end, a))
        end = max(end, b)
    return gaps


def reading_order(boxes: list[_Box], idx: list[int] | None = None) -> list[int]:
    """Recursive XY-cut over boxes: indices in reading order."""
    idx = list(range(len(boxes))) if idx is None else idx
    if len(idx) <= 1:
        return idx
    h = float(np.median([boxes[i].h for i in idx]))
    best_axis, best_gaps, best = -1, [], 0.0
    for axis, min_gap in ((0, 0.5 * h), (1, 0.0)):
        gaps = [g for g in _gaps(boxes, idx, axis) if g[1] - g[0] > min_gap]
        width = max((g[1] - g[0] for g in gaps), default=0.0)
        if width > best:
            best_axis, best, best_gaps = axis, width, [g for g in gaps if g[1] - g[0] >= 0.8 * width]
    if best_axis < 0:
        return by_rows(boxes, idx)
    groups = _split(boxes, idx, best_axis, best_gaps)
    if best_axis == 0 and _table(boxes, groups):
        across = [g for g in _gaps(boxes, idx, 1) if g[1] > g[0]]
        if not across:
            return by_rows(boxes, idx)
        width = max(g[1] - g[0] for g in across)
        groups = _split(boxes, idx, 1, [g for g in across if g[1] - g[0] >= 0.8 * width])
    return [i for g in groups for i in reading_order(boxes, g)]


def _split(boxes: list[_Box], idx: list[int], axis: int, gaps: list[tuple[float, float]]) -> list[list[int]]:
    """Indices split at the middles of empty bands on ``axis``, in order."""
    cuts = [(a + b) / 2 for a, b in gaps]
    groups: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in idx:
        lo = boxes[i].x0 if axis == 0 else boxes[i].y0
        groups[int(np.searchsorted(cuts, lo))].append(i)
    return [g for g in groups if g]


def _same_row(a: _Box, b: _Box) -> bool:
    return min(a.y1, b.y1) - max(a.y0, b.y0) >= OVERLAP * min(a.h, b.h)


def _table(boxes: list[_Box], groups: list[list[int]]) -> bool:
    """Parts side by side (left to right) form a table: most of their lines share a row with a
    line of the neighbouring part, and not both parts are running text."""
    for left, right in zip(groups, groups[1:]):
        aligned = sum(any(_same_row(boxes[i], boxes[j]) for j in right) for i in left)
        aligned += sum(any(_same_row(boxes[j], boxes[i]) for i in left) for j in right)
        prose = all(np.median([(boxes[i].x1 - boxes[i].x0) / boxes[i].h for i in g]) >= PROSE
                    for g in (left, right))
        if aligned >= ALIGNED * (len(left) + len(right)) and not prose:
            return True
    return False


def by_rows(boxes: list[_Box], idx: list[int]) -> list[int]:
    """Indices read row by row (top to bottom by centre; a box joins the row whose first box it
    shares a row with), each row left to right."""
    rows: list[list[int]] = []
    for i in sorted(idx, key=lambda k: (boxes[k].y0 + boxes[k].y1) / 2):
        if rows and _same_row(boxes[rows[-1][0]], boxes[i]):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda k: boxes[k].x0)]


def line_polygon(polygons: list[np.ndarray]) -> np.ndarray:
    """One word: its polygon. Several: their minimum-area rectangle, or the hull if that fits better."""
    if len(polygons) == 1:
        return np.asarray(polygons[0], np.float32).reshape(-1, 2)
    pts = np.concatenate([np.asarray(p, np.float32).reshape(-1, 2) for p in polygons])
    hull = cv2.convexHull(pts).reshape(-1, 2)
    rect = cv2.minAreaRect(pts)
    if cv2.contourArea(hull) < 0.8 * rect[1][0] * rect[1][1]:
        return hull
    return cv2.boxPoints(rect)


def build_lines(words: list[Word]) -> list[Line]:
    """Group words into lines and put the lines in reading order."""
    if not words:
        return []
    polys = [np.asarray(w.polygon, np.float64) for w in words]
    boxes = _boxes(polys, page_angle(polys))
    groups = group_words(boxes)
    spans = []
    for g in groups:
        span = boxes[g[0]]
        for i in g[1:]:
            span = span.union(boxes[i])
        spans.append(span)
    order = reading_order(spans)
    blocks = block_numbers([spans[k] for k in order])
    lines = []
    for k, block in zip(order, blocks):
        members = [words[i] for i in groups[k]]
        lines.append(Line(words=members, polygon=line_polygon([polys[i] for i in groups[k]]), block=block))
    return lines


def block_numbers(spans: list[_Box]) -> list[int]:
    """Block number of each line (spans in reading order): a line continues the block of the line
    before it when it is on the same row or at most ``BLOCK_GAP`` heights below it, overlaps the
    block across, and has a similar height."""
    numbers, block = [], None
    for k, b in enumerate(spans):
        prev = spans[k - 1] if k else None
        joins = prev is not None and max(prev.h, b.h) < 1.6 * min(prev.h, b.h) and (
            _same_row(prev, b) or (-0.5 * b.h <= b.y0 - prev.y1 <= BLOCK_GAP * max(prev.h, b.h)
                                    and min(block.x1, b.x1) > max(block.x0, b.x0)))
        if joins:
            block = block.union(b)
        else:
            block = b
        numbers.append(numbers[-1] + (0 if joins else 1) if numbers else 0)
    return numbers


def order_regions(polygons: list) -> list[int]:
    """Reading order of regions that are not grouped into lines (``ocr detect``)."""
    polys = [np.asarray(p, np.float64) for p in polygons]
    if not polys:
        return []
    return reading_order(_boxes(polys, page_angle(polys)))
