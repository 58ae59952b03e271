"""Polygon geometry shared by the models, the data tools and the pipeline.

Convention everywhere: a polygon is an ``(N, 2)`` array of continuous pixel coordinates (x right,
y down); "clockwise" means clockwise on screen, which is a positive shoelace area with y down.
"""
from __future__ import annotations

import numpy as np
import shapely


def signed_area(poly) -> float:
    """Shoelace area; positive for clockwise-on-screen polygons (y axis down)."""
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def make_clockwise(poly: np.ndarray) -> np.ndarray:
    """Clockwise on screen, keeping vertex 0 first."""
    if signed_area(poly) < 0:
        return np.concatenate([poly[:1], poly[1:][::-1]])
    return poly


def polyline_length(pts: np.ndarray) -> float:
    """Length of an open polyline."""
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0


def resample_polyline(pts: np.ndarray, n: int, t0: float = 0.0, t1: float = 1.0) -> np.ndarray:
    """``n`` points at uniform arc-length fractions between ``t0`` and ``t1`` of an open line
    (a line of zero length gives its first point ``n`` times)."""
    pts = np.asarray(pts, np.float64)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    if cum[-1] <= 0:
        return np.repeat(pts[:1], n, axis=0)
    t = np.linspace(t0 * cum[-1], t1 * cum[-1], n)
    return np.stack([np.interp(t, cum, pts[:, 0]), np.interp(t, cum, pts[:, 1])], axis=1)


def resample_contour(poly: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along the closed contour, from vertex 0."""
    closed = np.vstack([poly, poly[:1]]).astype(np.float64)
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))])
    if s[-1] <= 0:
        raise ValueError("degenerate contour")
    t = np.linspace(0, s[-1], n, endpoint=False)
    return np.stack([np.interp(t, s, closed[:, 0]), np.interp(t, s, closed[:, 1])], axis=1)


def polygon_parts(geom) -> list:
    """The non-empty shapely Polygons inside any geometry (multi-parts and collections flattened)."""
    if geom.geom_type == "Polygon":
        return [] if geom.is_empty else [geom]
    return [p for g in getattr(geom, "geoms", []) for p in polygon_parts(g)]


def repair(geoms: np.ndarray) -> np.ndarray:
    """Repair self-intersecting shapely polygons with ``buffer(0)`` (much faster than make_valid)."""
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.buffer(geoms[bad], 0)
    return geoms


def clip_polygons(contours: np.ndarray, frame) -> list[np.ndarray | None]:
    """Intersect contours ``(M, P, 2)`` with ``frame`` (a shapely geometry), all in one call: for
    each, the largest resulting part or None."""
    if len(contours) == 0:
        return []
    clipped = shapely.intersection(repair(shapely.polygons(np.asarray(contours, np.float64))), frame)
    out = []
    for geom in clipped:
        parts = polygon_parts(geom)
        best = max(parts, key=lambda g: g.area) if parts else None
        out.append(None if best is None else np.asarray(best.exterior.coords[:-1], np.float32))
    return out


def order_polygon(pts: np.ndarray) -> np.ndarray:
    """Clockwise on screen, starting at the vertex nearest the bounding box's top-left."""
    return order_polygons(np.asarray(pts)[None])[0]


def signed_areas(polys: np.ndarray) -> np.ndarray:
    """``signed_area`` of each of ``(M, P, 2)`` polygons."""
    p = np.asarray(polys, np.float64)
    x, y = p[..., 0], p[..., 1]
    return 0.5 * ((x * np.roll(y, -1, axis=1)).sum(1) - (np.roll(x, -1, axis=1) * y).sum(1))


def order_polygons(polys: np.ndarray) -> np.ndarray:
    """``order_polygon`` of each of ``(M, P, 2)`` polygons at once (float32)."""
    p = np.array(polys, np.float64)
    ccw = signed_areas(p) < 0
    p[ccw, 1:] = p[ccw, :0:-1]  # clockwise, vertex 0 kept first
    start = np.argmin(np.linalg.norm(p - p.min(1, keepdims=True), axis=2), axis=1)
    turn = (start[:, None] + np.arange(p.shape[1])) % p.shape[1]
    return np.take_along_axis(p, turn[..., None], axis=1).astype(np.float32)
