"""Polygon -> rectified crop for the recognizer.

- A quadrilateral (or a polygon that nearly fills its minimum-area rectangle) is warped with a
  perspective transform (``cv2.getPerspectiveTransform``). Its x axis is the edge nearest to the
  image's horizontal, so a vertical word gives a tall crop.
- A curved band (FCENet contours of arched text) is straightened: the contour is split at its two
  ends into a top and a bottom side, both resampled to matching points, and each output column is
  sampled along the segment joining matching points (one ``cv2.remap``; the same map the piecewise
  quad warp of each segment would give, without seams).
- ``upright_candidates`` turns tall crops (h > 1.5 w) by 90 degrees both ways (and keeps the crop
  as is for single tall characters); the recognizer keeps the most confident reading.
"""
from __future__ import annotations

import cv2
import numpy as np

from ocr.geometry import resample_contour, resample_polyline

TALL_RATIO = 1.5  # a crop taller than this times its width is read turned by 90 degrees


def crop_polygon(img: np.ndarray, polygon, margin: float = 0.0) -> np.ndarray:
    """Rectify the region inside ``polygon`` ((N, 2) in image pixels) of an RGB image.

    ``margin`` lengthens quads by that fraction of their height at both ends (along the text, not
    above or below it: detected word boxes are tight at the ends, while more height brings in
    neighbouring lines)."""
    poly = np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
    if len(poly) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(poly)}")
    if len(poly) > 4 and is_curved(poly):
        try:
            return straighten(img, poly, margin)
        except ValueError:
            pass  # degenerate contour: fall back to its rectangle
    quad = poly if len(poly) == 4 and _is_convex(poly) else cv2.boxPoints(cv2.minAreaRect(poly))
    return warp_quad(img, order_quad(quad), margin)


def is_curved(poly: np.ndarray, fill: float = 0.8, aspect: float = 3.0, min_thickness: float = 8.0) -> bool:
    """A band at least ``min_thickness`` pixels thick and ``aspect`` times longer than that (judged
    from its area and perimeter, so a bent band counts its length along the bend) that fills less
    than ``fill`` of its minimum-area rectangle. Small blobs, such as the contour of a colon, are
    cut as rectangles: there is nothing to straighten in them."""
    p = poly.astype(np.float32)
    thickness = band_thickness(p)
    area = abs(cv2.contourArea(p))
    if thickness < min_thickness or area < aspect * thickness * thickness:
        return False
    (_, _), (rw, rh), _ = cv2.minAreaRect(p)
    return area < fill * rw * rh


def _is_convex(quad: np.ndarray) -> bool:
    return bool(cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)))


def order_quad(quad) -> np.ndarray:
    """4 points in cyclic order -> (tl, tr, br, bl), with tl->tr the edge nearest to pointing right."""
    q = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    x, y = q[:, 0], q[:, 1]
    if np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) < 0:  # make it clockwise on screen (y down)
        q = q[::-1]
    edges = np.roll(q, -1, axis=0) - q
    cos = edges[:, 0] / np.maximum(np.linalg.norm(edges, axis=1), 1e-6)
    return np.roll(q, -int(np.argmax(cos)), axis=0).copy()


def warp_quad(img: np.ndarray, quad: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Perspective-warp an ordered quad (tl, tr, br, bl) to an axis-aligned crop."""
    tl, tr, br, bl = quad.astype(np.float32)
    w = max(1, int(round((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2)))
    h = max(1, int(round((np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2)))
    src = quad.astype(np.float32)
    if margin > 0:
        src = _lengthen_quad(src, margin * h)
        w += int(round(2 * margin * h))
    dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _lengthen_quad(q: np.ndarray, d: float) -> np.ndarray:
    """Move the corners of an ordered quad outwards along its reading axis by ``d`` pixels."""
    ux = (q[1] - q[0]) + (q[2] - q[3])
    ux /= max(np.linalg.norm(ux), 1e-6)
    signs = np.float32([[-1], [1], [1], [-1]])
    return q + d * signs * ux


# --- curved bands -------------------------------------------------------------------------------

def straighten(img: np.ndarray, poly: np.ndarray, margin: float = 0.0, samples: int = 128) -> np.ndarray:
    """Straighten a curved text band given by its closed contour; ``margin`` lengthens both of its
    sides at each end by that fraction of the band's thickness."""
    pts = resample_contour(poly, samples)
    axis = main_axis(pts)
    thickness = band_thickness(pts)
    sides = _sides_from_corners(pts, thickness)
    if sides is None:
        sides = _sides_from_extremes(pts, axis)
    top, bottom = (_extend_ends(side, margin * thickness) for side in _orient_sides(*sides, axis))
    crop = remap_band(img, resample_polyline(top, 64), resample_polyline(bottom, 64))
    if abs(axis[1]) > abs(axis[0]):  # read downwards: give it back in the image's frame (tall)
        crop = cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE)
    return crop


def band_thickness(pts: np.ndarray) -> float:
    """Thickness of a band from its area A and perimeter P (A = L h, P = 2 (L + h))."""
    closed = np.vstack([pts, pts[:1]])
    half_p = np.linalg.norm(np.diff(closed, axis=0), axis=1).sum() / 2
    area = abs(cv2.contourArea(pts.astype(np.float32)))
    disc = max(half_p ** 2 - 4 * area, 0.0)
    return max(1.0, (half_p - np.sqrt(disc)) / 2)


def main_axis(pts: np.ndarray) -> np.ndarray:
    """Unit principal direction, pointing right (or down when nearly vertical)."""
    centered = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    a = vt[0]
    if abs(a[1]) > abs(a[0]):
        return a if a[1] > 0 else -a
    return a if a[0] > 0 else -a


def _chain(pts: np.ndarray, i: int, j: int, step: int) -> np.ndarray:
    """Contour points from index i to j inclusive, walking by ``step`` (+1 or -1)."""
    n = len(pts)
    count = ((j - i) * step) % n
    return pts[[(i + step * k) % n for k in range(count + 1)]]


def _turning(pts: np.ndarray, k: int) -> np.ndarray:
    """Signed turning angle at each contour point over +-k neighbours; convex corners positive."""
    v1 = pts - np.roll(pts, k, axis=0)
    v2 = np.roll(pts, -k, axis=0) - pts
    ang = np.arctan2(v1[:, 0] * v2[:, 1] - v1[:, 1] * v2[:, 0], (v1 * v2).sum(axis=1))
    x, y = pts[:, 0], pts[:, 1]
    return ang if np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0 else -ang


def _sides_from_corners(pts: np.ndarray, h: float):
    """The two long sides between the band's four corners (sharpest convex turns), or None."""
    n = len(pts)
    step = np.linalg.norm(pts[1] - pts[0])
    k = int(np.clip(round(h / 4 / max(step, 1e-6)), 1, n // 16))
    turn = _turning(pts, k)
    corners = []
    for i in np.argsort(-turn):
        if turn[i] < np.deg2rad(35) or len(corners) == 4:
            break
        if all(min(abs(i - c), n - abs(i - c)) > 2 * k for c in corners):
            corners.append(int(i))
    if len(corners) != 4:
        return None
    c = sorted(corners)
    arcs = [(c[(j + 1) % 4] - c[j]) % n for j in range(4)]
    if arcs[0] + arcs[2] > arcs[1] + arcs[3]:  # make arcs c0->c1 and c2->c3 the end caps
        c = c[1:] + c[:1]
        arcs = arcs[1:] + arcs[:1]
    if max(arcs[0], arcs[2]) > 0.5 * min(arcs[1], arcs[3]):
        return None  # the "caps" are not short: not a band with clear ends
    return _chain(pts, c[1], c[2], 1), _chain(pts, c[0], c[3], -1)


def _sides_from_extremes(pts: np.ndarray, axis: np.ndarray):
    """Fallback: split at the extreme points along the axis and cut half a thickness off each end."""
    proj = pts @ axis
    i0, i1 = int(np.argmin(proj)), int(np.argmax(proj))
    if i0 == i1:
        raise ValueError("degenerate contour")
    h = band_thickness(pts)
    return _trim(_chain(pts, i0, i1, 1), h / 2), _trim(_chain(pts, i0, i1, -1), h / 2)


def _orient_sides(a: np.ndarray, b: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sides running along ``axis``; returns (top, bottom), top being further against the normal."""
    if (a[-1] - a[0]) @ axis < 0:
        a, b = a[::-1], b[::-1]
    normal = np.array([-axis[1], axis[0]])  # the axis turned clockwise on screen: "down" for text
    return (a, b) if (a @ normal).mean() < (b @ normal).mean() else (b, a)


def _extend_ends(chain: np.ndarray, d: float) -> np.ndarray:
    """Continue an open chain by ``d`` pixels at both ends, along its end directions."""
    if d <= 0 or len(chain) < 2:
        return chain
    k = min(3, len(chain) - 1)  # a few points back: a steadier direction than the last segment
    head, tail = chain[0] - chain[k], chain[-1] - chain[-1 - k]
    head = chain[0] + d * head / max(np.linalg.norm(head), 1e-6)
    tail = chain[-1] + d * tail / max(np.linalg.norm(tail), 1e-6)
    return np.vstack([head, chain, tail])


def _trim(chain: np.ndarray, cut: float, n: int = 64) -> np.ndarray:
    """Drop ``cut`` of arc length from both ends (the half end caps); resample to ``n`` points."""
    length = np.linalg.norm(np.diff(chain, axis=0), axis=1).sum()
    cut = min(cut, 0.25 * length)
    return resample_polyline(chain, n, cut / length, (length - cut) / length)


def remap_band(img: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Sample the band between matching top/bottom points into a straight (H, W) crop."""
    top_len = np.linalg.norm(np.diff(top, axis=0), axis=1).sum()
    bot_len = np.linalg.norm(np.diff(bottom, axis=0), axis=1).sum()
    w = max(1, int(round((top_len + bot_len) / 2)))
    h = max(1, int(round(np.median(np.linalg.norm(top - bottom, axis=1)))))
    t = np.linspace(0, len(top) - 1, w)
    idx = np.arange(len(top))
    tops = np.stack([np.interp(t, idx, top[:, k]) for k in range(2)], axis=1)  # (W, 2)
    bots = np.stack([np.interp(t, idx, bottom[:, k]) for k in range(2)], axis=1)
    v = (np.arange(h) + 0.5)[:, None, None] / h  # (H, 1, 1)
    grid = tops[None] + v * (bots - tops)[None]  # (H, W, 2)
    return cv2.remap(img, grid[..., 0].astype(np.float32), grid[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def is_tall(crop: np.ndarray, ratio: float = TALL_RATIO) -> bool:
    """Taller than ``ratio`` times its width: may hold vertical text, read turned too."""
    return crop.shape[0] > ratio * crop.shape[1]


def upright_candidates(crop: np.ndarray, ratio: float = TALL_RATIO) -> list[np.ndarray]:
    """Ways a crop may read: a tall crop turned counter-clockwise, clockwise, and as it is."""
    if not is_tall(crop, ratio):
        return [crop]
    return [cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE), cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE), crop]
