"""Boxes, baselines and text frames of words and lines, as the document formats need them."""
from __future__ import annotations

import math

import numpy as np

_DIRECTION = {0: (1.0, 0.0), 90: (0.0, 1.0), 180: (-1.0, 0.0), 270: (0.0, -1.0)}


def bbox(polygon, width: int, height: int) -> tuple[int, int, int, int]:
    """Integer ``(x0, y0, x1, y1)`` around a polygon, within the page."""
    p = np.asarray(polygon, np.float64).reshape(-1, 2)
    x0, y0 = np.floor(p.min(axis=0))
    x1, y1 = np.ceil(p.max(axis=0))
    x0, x1 = (int(min(max(v, 0), width)) for v in (x0, x1))
    y0, y1 = (int(min(max(v, 0), height)) for v in (y0, y1))
    return x0, y0, max(x1, x0), max(y1, y0)


def union(boxes) -> tuple[int, int, int, int]:
    b = np.asarray(list(boxes)).reshape(-1, 4)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


def text_direction(polygons, rotation: int = 0) -> np.ndarray:
    """Unit vector along which the text runs (image axes, y down): the page's direction after its
    ``rotation``, turned by the polygons' median skew."""
    import cv2

    base = np.array(_DIRECTION.get(rotation % 360, (1.0, 0.0)))
    angles = []
    for poly in polygons:
        (_, _), (w, h), a = cv2.minAreaRect(np.asarray(poly, np.float32).reshape(-1, 2))
        if min(w, h) < 1e-3 or max(w, h) < 1.5 * min(w, h):
            continue
        t = math.radians(a if w >= h else a + 90.0)
        v = (math.cos(t), math.sin(t))
        diff = math.atan2(base[0] * v[1] - base[1] * v[0], base[0] * v[0] + base[1] * v[1])
        angles.append((diff + math.pi / 2) % math.pi - math.pi / 2)  # the long side is undirected
    skew = float(np.median(angles)) if angles else 0.0
    c, s = math.cos(skew), math.sin(skew)
    return np.array([c * base[0] - s * base[1], s * base[0] + c * base[1]])


def frame(polygon, direction: np.ndarray) -> tuple[np.ndarray, float, float]:
    """A polygon seen along ``direction``: the baseline start (bottom-left in text terms), the
    length along the text and the height across it."""
    p = np.asarray(polygon, np.float64).reshape(-1, 2)
    d = np.asarray(direction, np.float64)
    n = np.array([-d[1], d[0]])  # points "down" from the text (y down)
    u, v = p @ d, p @ n
    start = d * u.min() + n * v.max()
    return start, float(u.max() - u.min()), float(v.max() - v.min())


def baseline(polygon, box: tuple[int, int, int, int], direction: np.ndarray) -> tuple[float, int]:
    """hOCR ``baseline``: slope, and offset of the baseline from the box's bottom-left corner."""
    start, _, _ = frame(polygon, direction)
    slope = direction[1] / direction[0] if abs(direction[0]) > 1e-6 else 0.0
    y_at_x0 = start[1] + slope * (box[0] - start[0])
    return round(float(slope), 4), int(round(y_at_x0 - box[3]))
