"""FCENet training targets: polygon geometry, Fourier contour embedding and per-level maps.

Coordinate convention (shared by the whole detection pipeline): polygons are ``(N, 2)`` float
arrays of continuous pixel coordinates, pixel ``(row i, col j)`` covers ``[j, j+1) x [i, i+1)``,
so its centre is ``(j + 0.5, i + 0.5)``. A feature level of stride ``s`` uses the same convention
in its own grid (image coordinates divided by ``s``).

Fourier contour embedding (paper Sec. 3.1): the contour is resampled uniformly by arc length,
oriented clockwise on screen (positive shoelace area with y pointing down), started at its top
point nearest the vertical axis through the centroid, and transformed with the DFT; the ``2k+1``
coefficients ``c_{-k..k}`` are kept. Each text pixel of its level regresses them, with ``c_0``
made relative to the pixel centre.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from ocr.geometry import make_clockwise, polyline_length, resample_contour, signed_area

_DENSE_AT = 30  # outlines with more points are simplified before finding head/tail
_LAYOUT_PRIOR = 0.05  # weight of the "top points, then bottom points" annotation layout
LEVEL_RANGES = ((0.0, 0.25), (0.2, 0.65), (0.55, 1.0))  # text-size ratio per level (paper)


# ----------------------------------------------------------------------------- polygon basics
def rasterize(shape: tuple[int, int], polys, value: float = 1.0, scale: float = 1.0,
              out: np.ndarray | None = None) -> np.ndarray:
    """Fill ``polys`` (scaled by ``scale``) into a float32 map of ``shape``: exactly the pixels
    whose centre lies inside a polygon (even-odd rule) get ``value``. Unlike ``cv2.fillPoly``,
    which dilates by about half a pixel, this is unbiased, so areas and IoUs stay exact."""
    out = np.zeros(shape, np.float32) if out is None else out
    for p in polys:
        if len(p) >= 3:
            _fill_scanlines(out, np.asarray(p, np.float64) * scale, value)
    return out


def _fill_scanlines(out: np.ndarray, poly: np.ndarray, value: float) -> None:
    h, w = out.shape[:2]
    r0 = max(0, int(np.floor(poly[:, 1].min() - 0.5)))
    r1 = min(h, int(np.ceil(poly[:, 1].max() + 0.5)))
    if r1 <= r0:
        return
    ys = np.arange(r0, r1) + 0.5  # (R,) row centres
    p, q = poly, np.roll(poly, -1, axis=0)  # edges p -> q, (E, 2)
    cross = (p[None, :, 1] <= ys[:, None]) != (q[None, :, 1] <= ys[:, None])  # (R, E)
    dy = np.where(q[:, 1] == p[:, 1], 1.0, q[:, 1] - p[:, 1])
    xs = p[None, :, 0] + (ys[:, None] - p[None, :, 1]) / dy[None] * (q[None, :, 0] - p[None, :, 0])
    xs = np.sort(np.where(cross, xs, np.inf), axis=1)  # crossings first, in x order
    if xs.shape[1] % 2:
        xs = np.concatenate([xs, np.full((len(xs), 1), np.inf)], axis=1)
    a, b = xs[:, 0::2], xs[:, 1::2]  # (R, E/2) span starts / ends
    ok = np.isfinite(a) & np.isfinite(b)
    rows = np.broadcast_to(np.arange(r1 - r0)[:, None], a.shape)[ok]
    j0 = np.clip(np.ceil(a[ok] - 0.5), 0, w).astype(np.int64)  # first centre >= a
    j1 = np.clip(np.ceil(b[ok] - 0.5), 0, w).astype(np.int64)  # first centre >= b
    diff = np.zeros((r1 - r0, w + 1), np.int32)
    np.add.at(diff, (rows, j0), 1)
    np.add.at(diff, (rows, j1), -1)
    out[r0:r1][np.cumsum(diff[:, :w], axis=1) > 0] = value


def normalize_start(contour: np.ndarray) -> np.ndarray:
    """Roll a clockwise contour to start at its top point near the centroid's vertical axis."""
    dx = np.abs(contour[:, 0] - contour[:, 0].mean())
    near = np.argsort(dx, kind="stable")[:8]
    start = near[np.argmin(contour[near, 1])]
    return np.roll(contour, -start, axis=0)


# ----------------------------------------------------------------------------- Fourier embedding
def poly_to_fourier(poly: np.ndarray, k: int, n: int = 400) -> np.ndarray:
    """Fourier signature of a polygon: complex ``(2k+1,)`` coefficients ordered ``c_{-k}..c_k``
    such that ``z(t) = sum_f c_f exp(2 pi i f t)`` traces the (normalised) contour."""
    contour = normalize_start(resample_contour(make_clockwise(np.asarray(poly, np.float64)), n))
    z = contour[:, 0] + 1j * contour[:, 1]
    spec = np.fft.fft(z) / n
    return np.concatenate([spec[-k:], spec[:k + 1]]) if k > 0 else spec[:1]


def fourier_to_points(coeffs: np.ndarray, n: int) -> np.ndarray:
    """Inverse transform: complex ``(..., 2k+1)`` coefficients -> ``(..., n, 2)`` float32 points."""
    k = (coeffs.shape[-1] - 1) // 2
    freqs = np.arange(-k, k + 1)
    t = np.arange(n) / n
    basis = np.exp(2j * np.pi * freqs[:, None] * t[None, :])  # (2k+1, n)
    z = coeffs @ basis
    return np.stack([z.real, z.imag], -1).astype(np.float32)


# ----------------------------------------------------------------------------- sidelines
def _turn_angles(poly: np.ndarray) -> np.ndarray:
    """Absolute turning angle at each vertex (0 = straight on, pi = reversal)."""
    d_in = poly - np.roll(poly, 1, axis=0)
    d_out = np.roll(poly, -1, axis=0) - poly
    cross = d_in[:, 0] * d_out[:, 1] - d_in[:, 1] * d_out[:, 0]
    dot = (d_in * d_out).sum(1)
    return np.abs(np.arctan2(cross, dot))


def _quad_head_tail(q: np.ndarray) -> tuple[int, int]:
    """Head/tail edge indices of a quadrilateral: the shorter opposite pair; near-squares prefer
    the more vertical pair (text assumed roughly horizontal)."""
    e = np.roll(q, -1, axis=0) - q
    ln = np.linalg.norm(e, axis=1)
    l02, l13 = ln[0] + ln[2], ln[1] + ln[3]
    if max(l02, l13) < 1.5 * min(l02, l13):
        vert02 = abs(e[0, 1]) + abs(e[2, 1]) - abs(e[0, 0]) - abs(e[2, 0])
        vert13 = abs(e[1, 1]) + abs(e[3, 1]) - abs(e[1, 0]) - abs(e[3, 0])
        return (0, 2) if vert02 > vert13 else (1, 3)
    return (0, 2) if l02 < l13 else (1, 3)


def _pair_scores(poly: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score every non-adjacent edge pair ``(i, j)`` as head/tail: sharp corners at both ends,
    far apart, sides of comparable length, short caps, plus ``prior[i, j]`` (annotation layout).
    Returns ``(pairs (P, 2), scores (P,))``."""
    n = len(poly)
    e = np.roll(poly, -1, axis=0) - poly
    ln = np.linalg.norm(e, axis=1) + 1e-9
    mid = poly + 0.5 * e
    perim = ln.sum()
    cum = np.concatenate([[0.0], np.cumsum(ln)])
    ii, jj = np.triu_indices(n, 2)
    keep = (ii + n - jj) >= 2
    ii, jj = ii[keep], jj[keep]
    la = cum[jj] - cum[ii + 1]  # chain from end of edge i to start of edge j
    lb = perim - la - ln[ii] - ln[jj]
    s_bal = np.minimum(1.0, np.minimum(la, lb) / np.maximum(np.maximum(la, lb), 1e-9) / 0.6)
    sep = np.linalg.norm(mid[ii] - mid[jj], axis=1)
    s_sep = sep / max(sep.max(), 1e-9)
    sharp = np.minimum(_turn_angles(poly), np.pi / 2) / (np.pi / 2)  # 1 for a right angle or sharper
    s_corner = (sharp[ii] + sharp[(ii + 1) % n] + sharp[jj] + sharp[(jj + 1) % n]) / 4
    s_short = 1 - (ln[ii] + ln[jj]) / perim
    score = 0.4 * s_corner + 0.25 * s_sep + 0.15 * s_bal + 0.1 * s_short + _LAYOUT_PRIOR * prior[ii, jj]
    return np.stack([ii, jj], 1), score


def _outline(poly: np.ndarray) -> np.ndarray:
    """Sorted indices of the vertices that shape the outline: dense contours are simplified
    (approxPolyDP), otherwise only collinear vertices are dropped."""
    n = len(poly)
    if n > _DENSE_AT:
        eps = 0.2 * text_height_estimate(poly)
        simple = cv2.approxPolyDP(poly.astype(np.float32).reshape(-1, 1, 2), eps, True).reshape(-1, 2)
        idx = np.unique([int(np.argmin(np.linalg.norm(poly - v, axis=1))) for v in simple])
    else:
        idx = np.nonzero(_turn_angles(poly) > math.radians(8))[0]
    return idx if len(idx) >= 4 else np.arange(n)


def _layout_prior(idx: np.ndarray, n: int, reversed_: bool) -> np.ndarray:
    """1 for the outline-edge pair holding the caps of the usual layout (top points then bottom
    points, equally many: caps are original edges n/2-1 and n-1), else 0."""
    m = len(idx)
    prior = np.zeros((m, m))
    if n % 2 or n <= 4 or n > _DENSE_AT:
        return prior
    caps = (0, n // 2) if reversed_ else (n // 2 - 1, n - 1)
    span = (np.roll(idx, -1) - idx) % n  # original edges covered by each outline edge
    holder = [int(np.nonzero((c - idx) % n < span)[0][0]) for c in caps]
    prior[min(holder), max(holder)] = 1.0
    return prior


def find_sidelines(poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a text polygon into its two long sides, both running head -> tail.

    Works for quads, CTW/Total-Text style polygons and dense contours (simplified first to find
    the head/tail edges). The "top" side is the one holding vertex 0 of the clockwise polygon
    (annotations start at the text's top-left). Returns ``(top, bottom)`` point arrays.
    """
    poly = np.asarray(poly, np.float64)
    reversed_ = signed_area(poly) < 0
    poly = make_clockwise(poly)
    n = len(poly)
    if n < 4:
        raise ValueError("a text polygon needs at least 4 points")
    idx = _outline(poly)
    key = poly[idx]
    if len(key) == 4:
        hi, hj = _quad_head_tail(key)
    else:
        pairs, scores = _pair_scores(key, _layout_prior(idx, n, reversed_))
        hi, hj = pairs[int(np.argmax(scores))]
    m = len(idx)
    i0, i1, j0, j1 = idx[hi], idx[(hi + 1) % m], idx[hj], idx[(hj + 1) % m]
    a = np.array([poly[(i1 + t) % n] for t in range((j0 - i1) % n + 1)])  # end of edge i -> start of j
    b = np.array([poly[(j1 + t) % n] for t in range((i0 - j1) % n + 1)])  # end of edge j -> start of i
    top, bottom_rev = (b, a) if any(np.allclose(p, poly[0]) for p in b) else (a, b)
    return top.astype(np.float32), bottom_rev[::-1].astype(np.float32)


def text_height_estimate(poly: np.ndarray) -> float:
    """Height of a band with the polygon's area and perimeter (exact for rectangles)."""
    area = abs(signed_area(poly))
    perim = polyline_length(np.concatenate([poly, poly[:1]]))
    disc = max(perim * perim - 16 * area, 0.0)
    return max((perim - math.sqrt(disc)) / 4, 1e-6)


def text_height(poly: np.ndarray) -> float:
    """Text height: area over the mean sideline length, falling back to the band estimate."""
    try:
        top, bottom = find_sidelines(poly)
        length = 0.5 * (polyline_length(top) + polyline_length(bottom))
        h = abs(signed_area(np.asarray(poly, np.float64))) / max(length, 1e-6)
        if 0 < h < 2 * text_height_estimate(poly) + 1:
            return h
    except (ValueError, IndexError):  # degenerate outline: use the band estimate
        pass
    return text_height_estimate(np.asarray(poly, np.float64))


def shrink_polygon(poly: np.ndarray, distance: float) -> list[np.ndarray]:
    """Inward offset by ``distance`` with pyclipper (round joins); may return several parts."""
    scale = 64.0
    pco = pyclipper.PyclipperOffset()
    pco.AddPath(np.round(np.asarray(poly) * scale).astype(np.int64).tolist(), pyclipper.JT_ROUND,
                pyclipper.ET_CLOSEDPOLYGON)
    return [np.asarray(p, np.float64) / scale for p in pco.Execute(-distance * scale) if len(p) >= 3]


# ----------------------------------------------------------------------------- per-level targets
def level_name(stride: int) -> str:
    """Output key of a feature level: stride 8 -> ``p3``."""
    return f"p{int(round(math.log2(stride)))}"


@dataclass(frozen=True)
class FCETargetGenerator:
    """Builds the per-level training maps of one image.

    Each level map is ``(3 + 2(2k+1), H/s, W/s)`` float32 with channels ``[text, center, effective,
    re(c_{-k..k}) ..., im(c_{-k..k}) ...]``; coefficients are in level-grid units and ``c_0`` is
    relative to the pixel centre. Texts go to every level whose range holds their size ratio
    ``max(box w, box h) / max(H, W)``; ignored polygons are masked out (effective = 0) everywhere.
    """

    fourier_degree: int = 5
    scales: tuple = (8, 16, 32)
    level_ranges: tuple = LEVEL_RANGES
    center_ratio: float = 0.3
    resample_points: int = 400

    @property
    def num_channels(self) -> int:
        return 3 + 2 * (2 * self.fourier_degree + 1)

    def __call__(self, polys, ignore, image_shape: tuple[int, int]) -> dict[str, np.ndarray]:
        """``polys``: list of (N, 2) arrays in image pixels; ``ignore``: flags; -> {"p3": map, ...}."""
        h, w = image_shape
        polys = [np.asarray(p, np.float64) for p in polys]
        ratios = [self._size_ratio(p, max(h, w)) for p in polys]
        ignored = [p for p, ig in zip(polys, ignore) if ig and len(p) >= 3]
        out = {}
        for stride, (lo, hi) in zip(self.scales, self.level_ranges):
            texts = [p for p, ig, r in zip(polys, ignore, ratios)
                     if not ig and len(p) >= 3 and lo < r <= hi]
            out[level_name(stride)] = self.level_map((math.ceil(h / stride), math.ceil(w / stride)),
                                                     [p / stride for p in texts],
                                                     [p / stride for p in ignored])
        return out

    @staticmethod
    def _size_ratio(poly: np.ndarray, image_side: int) -> float:
        if len(poly) < 3:
            return 0.0
        extent = poly.max(0) - poly.min(0)
        return min(float(max(extent)) / max(image_side, 1), 1.0)

    def level_map(self, shape: tuple[int, int], texts: list, ignored: list) -> np.ndarray:
        """Maps of one level from polygons already in level-grid coordinates."""
        k = self.fourier_degree
        maps = np.zeros((self.num_channels,) + tuple(shape), np.float32)
        maps[2] = 1.0
        texts = sorted(texts, key=lambda p: -abs(signed_area(p)))  # small texts drawn last, on top
        for poly in texts:
            if abs(signed_area(poly)) < 1e-6:
                continue
            if not self._draw_text(maps, poly, k):
                cx, cy = np.clip(poly.mean(0), 0, [shape[1] - 1e-3, shape[0] - 1e-3]).astype(int)
                maps[2, cy, cx] = 0.0  # too small to rasterise here: don't care
        if ignored:
            eff = rasterize(shape, ignored)
            maps[2][eff > 0] = 0.0
        return maps

    def _draw_text(self, maps: np.ndarray, poly: np.ndarray, k: int) -> bool:
        shape = maps.shape[1:]
        text = rasterize(shape, [poly])
        ys, xs = np.nonzero(text)
        if len(ys) == 0:
            return False
        c = poly_to_fourier(poly, k, self.resample_points)
        n = 2 * k + 1
        maps[0, ys, xs] = 1.0
        maps[1, ys, xs] = 0.0
        maps[3:3 + n, ys, xs] = c.real[:, None]
        maps[3 + n:, ys, xs] = c.imag[:, None]
        maps[3 + k, ys, xs] -= xs + 0.5
        maps[3 + n + k, ys, xs] -= ys + 0.5
        center = self._center_mask(poly, text)
        maps[1][center > 0] = 1.0
        return True

    def _center_mask(self, poly: np.ndarray, text: np.ndarray) -> np.ndarray:
        """Text centre region: the polygon shrunk to ``center_ratio`` of its height (pyclipper),
        kept inside the text mask; at least the text pixel nearest the polygon centre."""
        dist = (1.0 - self.center_ratio) * text_height(poly) / 2
        for d in (dist, dist / 2, dist / 4):
            mask = rasterize(text.shape, shrink_polygon(poly, d)) * text
            if mask.any():
                return mask
        ys, xs = np.nonzero(text)
        cx, cy = poly.mean(0)
        t = int(np.argmin((xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2))
        mask = np.zeros_like(text)
        mask[ys[t], xs[t]] = 1.0
        return mask
