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
CutFn = Callable[[int, int], np.ndarray]  # (page, polygon index) -> crop

TALL_SHARE = 0.6  # share of elongated text area standing upright that makes a page "turned"
MARGIN = 0.1  # mean-confidence lead needed to call a page upside down


def _elongated(polygons: list) -> list[tuple[float, bool, int]]:
    """(area, stands upright, index) of polygons at least 1.5 times longer than thick, largest first."""
    out = []
    for k, p in enumerate(polygons):
        poly = np.asarray(p, np.float32).reshape(-1, 2)
        (_, _), (w, h), a = cv2.minAreaRect(poly)
        if min(w, h) < 2 or max(w, h) < 1.5 * min(w, h):
            continue
        long_angle = a if w >= h else a + 90.0  # degrees from the x axis
        upright = abs(np.sin(np.deg2rad(long_angle))) > np.sin(np.deg2rad(45))
        out.append((w * h, upright, k))
    return sorted(out, key=lambda t: -t[0])


def _mean_conf(readings: list[tuple[str, float]]) -> float:
    return float(np.mean([c if t else 0.0 for t, c in readings])) if readings else 0.0


def page_rotation(img: np.ndarray, polygons: list, read: ReadFn, words: int = 5) -> int:
    """0, 90, 180 or 270: the clockwise turn of the page's text, judged as described above."""
    return page_rotations([img], [polygons], read, words)[0]


def page_rotations(imgs: list[np.ndarray], polygons: list[list], read: ReadFn, words: int = 5) -> list[int]:
    """``page_rotation`` for several pages: ``orient_pages`` on the polygons cut out as they are."""
    cut = lambda k, i: crop_polygon(imgs[k], polygons[k][i])  # noqa: E731
    return orient_pages(polygons, read, cut, cut, words)[0]


def orient_pages(polygons: list[list], read: ReadFn, cut_standing: CutFn,
                 cut_lying: CutFn, words: int = 5) -> tuple[list[int], dict[tuple[int, int], tuple[str, float]]]:
    """Each page's turn, from its text polygons and crops of them: ``cut_standing(k, i)`` and
    ``cut_lying(k, i)`` cut polygon ``i`` of page ``k`` out for the quarter-turn check of a
    standing page and the upside-down check of a lying one. At most two calls of ``read``: the
    first reads every page's candidates that are always needed (both quarter turns of a standing
    page, the upright crops of a lying one), the second only the upside-down crops of the lying
    pages whose upright reading leaves room for them to win. Confidences are at most 1, so when
    the upright mean is at least ``1 - MARGIN`` the flipped mean cannot beat it by more than
    ``MARGIN`` and is not read. Returns the turns and the lying pages' upright readings, keyed
    ``(page, index)``, for a caller that reads those crops anyway."""
    answers = [0] * len(polygons)
    first: list[np.ndarray] = []
    todo: list[tuple[int, int]] = []  # (page, index) of the upright crops in ``first``
    tall_pages = []  # (page, start, count) of each standing page's crops in ``first``
    wide_pages = []  # (page, indices) of each lying page's largest regions
    for k, polys in enumerate(polygons):
        regions = _elongated(polys) if len(polys) else []
        if not regions:
            continue
        total = sum(a for a, _, _ in regions)
        tall = sum(a for a, up, _ in regions if up)
        if tall > TALL_SHARE * total:
            picked = [cut_standing(k, i) for _, up, i in regions if up][:words]
            tall_pages.append((k, len(first), len(picked)))
            first += [cv2.rotate(c, cv2.ROTATE_90_COUNTERCLOCKWISE) for c in picked]
            first += [cv2.rotate(c, cv2.ROTATE_90_CLOCKWISE) for c in picked]
            continue
        indices = [i for _, up, i in regions if not up][:words]
        wide_pages.append((k, indices))
        todo += [(k, i) for i in indices]
    readings = read(first + [cut_lying(k, i) for k, i in todo]) if first or todo else []
    known = dict(zip(todo, readings[len(first):]))
    for k, start, n in tall_pages:
        ccw = _mean_conf(readings[start:start + n])
        cw = _mean_conf(readings[start + n:start + 2 * n])
        answers[k] = 90 if ccw >= cw else 270
    second: list[np.ndarray] = []
    pending = []  # (page, upright mean, start, count) of flipped crops in ``second``
    for k, indices in wide_pages:
        upright = _mean_conf([known[k, i] for i in indices])
        if upright + MARGIN >= 1.0:  # flipped <= 1 cannot exceed upright + MARGIN: stays 0
            continue
        pending.append((k, upright, len(second), len(indices)))
        second += [cv2.rotate(cut_lying(k, i), cv2.ROTATE_180) for i in indices]
    flipped_readings = read(second) if second else []
    for k, upright, start, n in pending:
        flipped = _mean_conf(flipped_readings[start:start + n])
        answers[k] = 180 if flipped > upright + MARGIN else 0
    return answers, known


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
