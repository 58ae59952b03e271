"""Pages turned by 90, 180 or 270 degrees.

``page_rotation`` tells by how many degrees (clockwise) the page's text was turned:

- when most of the elongated text regions (by area) stand upright, the page is turned by 90 or 270;
  the few largest regions are read turned counter-clockwise and clockwise, and the more confident
  way wins;
- otherwise the largest regions are read as they are and upside down; 180 wins only by a clear
  margin of mean confidence.

The caller turns the page back (``unrotate``), detects again, and maps the polygons back to the
image as given (``to_original``).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from ocr.pipeline.rectify import crop_polygon

ReadFn = Callable[[list[np.ndarray]], list[tuple[str, float]]]

TALL_SHARE = 0.6  # share of elongated text area standing upright that makes a page "turned"
MARGIN = 0.1  # mean-confidence lead needed to call a page upside down


def _elongated(polygons: list) -> list[tuple[float, bool, np.ndarray]]:
    """(area, stands upright, polygon) of polygons at least 1.5 times longer than thick."""
    out = []
    for p in polygons:
        poly = np.asarray(p, np.float32).reshape(-1, 2)
        (_, _), (w, h), a = cv2.minAreaRect(poly)
        if min(w, h) < 2 or max(w, h) < 1.5 * min(w, h):
            continue
        long_angle = a if w >= h else a + 90.0  # degrees from the x axis
        upright = abs(np.sin(np.deg2rad(long_angle))) > np.sin(np.deg2rad(45))
        out.append((w * h, upright, poly))
    return sorted(out, key=lambda t: -t[0])


def _mean_conf(readings: list[tuple[str, float]]) -> float:
    return float(np.mean([c if t else 0.0 for t, c in readings])) if readings else 0.0


def page_rotation(img: np.ndarray, polygons: list, read: ReadFn, words: int = 5) -> int:
    """0, 90, 180 or 270: the clockwise turn of the page's text, judged as described above."""
    return page_rotations([img], [polygons], read, words)[0]


def page_rotations(imgs: list[np.ndarray], polygons: list[list], read: ReadFn, words: int = 5) -> list[int]:
    """``page_rotation`` for several pages, with the same answers in at most two calls of ``read``:
    the first reads every page's candidates that are always needed (both quarter turns of a
    standing page, the upright crops of a lying one), the second only the upside-down crops of
    the lying pages whose upright reading leaves room for them to win. Confidences are at most 1,
    so when the upright mean is at least ``1 - MARGIN`` the flipped mean cannot beat it by more
    than ``MARGIN`` and is not read."""
    answers = [0] * len(imgs)
    first: list[np.ndarray] = []
    plans = []  # (page, kind, start, count) of each page's crops in ``first``
    for k, (img, polys) in enumerate(zip(imgs, polygons)):
        regions = _elongated(polys) if len(polys) else []
        if not regions:
            continue
        total = sum(a for a, _, _ in regions)
        tall = sum(a for a, up, _ in regions if up)
        if tall > TALL_SHARE * total:
            crops = [crop_polygon(img, p) for _, up, p in regions if up][:words]
            plans.append((k, "tall", len(first), crops))
            first += [cv2.rotate(c, cv2.ROTATE_90_COUNTERCLOCKWISE) for c in crops]
            first += [cv2.rotate(c, cv2.ROTATE_90_CLOCKWISE) for c in crops]
        else:
            crops = [crop_polygon(img, p) for _, up, p in regions if not up][:words]
            plans.append((k, "wide", len(first), crops))
            first += crops
    readings = read(first) if first else []
    second: list[np.ndarray] = []
    pending = []  # (page, upright mean, start, count) of flipped crops in ``second``
    for k, kind, start, crops in plans:
        n = len(crops)
        if kind == "tall":
            ccw = _mean_conf(readings[start:start + n])
            cw = _mean_conf(readings[start + n:start + 2 * n])
            answers[k] = 90 if ccw >= cw else 270
            continue
        upright = _mean_conf(readings[start:start + n])
        if upright + MARGIN >= 1.0:  # flipped <= 1 cannot exceed upright + MARGIN: stays 0
            continue
        pending.append((k, upright, len(second), n))
        second += [cv2.rotate(c, cv2.ROTATE_180) for c in crops]
    flipped_readings = read(second) if second else []
    for k, upright, start, n in pending:
        flipped = _mean_conf(flipped_readings[start:start + n])
        answers[k] = 180 if flipped > upright + MARGIN else 0
    return answers


_UNDO = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def unrotate(img: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a page whose text is turned ``rotation`` degrees clockwise back upright."""
    return img if rotation == 0 else cv2.rotate(img, _UNDO[rotation])


def to_original(points, rotation: int, width: int, height: int) -> np.ndarray:
    """Map (N, 2) points of the upright page back to the image as given (``width`` x ``height``)."""
    p = np.asarray(points, np.float32).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    if rotation == 90:  # upright = original turned counter-clockwise
        return np.stack([width - 1 - y, x], axis=1)
    if rotation == 180:
        return np.stack([width - 1 - x, height - 1 - y], axis=1)
    if rotation == 270:
        return np.stack([y, height - 1 - x], axis=1)
    return p
