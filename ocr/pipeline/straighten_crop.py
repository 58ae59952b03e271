"""Straightening a given word crop with the detector.

A scene word crop is often the upright box of a tilted or curved word. The detector, run on the
crop (padded so the word sits inside a scene), finds the word's polygon; when that polygon is
clearly tilted or curved, the band along it is cut out straight (``crop_polygon``) and read as one
more candidate of the crop (``read_crops`` keeps the most confident reading). Measured with the
shipped models on held-out crops: ICDAR2015 words 0.528 -> 0.546, IIIT5K, SVT and ICDAR2013
unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np
from shapely.geometry import Polygon

from ocr.pipeline.detect import detect_sized
from ocr.pipeline.rectify import crop_polygon, is_curved

MIN_TILT = 10.0  # degrees off horizontal before a straight word is re-cut
MIN_COVER = 0.25  # the polygon must cover this share of the crop to be the crop's word
TEXT_PX = 40  # the crop's short side, in detector pixels
PAD = 0.4  # replicated border around the crop, in its long side
MAX_ASPECT = 6.0  # a crop wider than this many times its height holds a straight, level word or
# line: a straight word that fills it is tilted by at most atan(1 / 6) = 9.5 degrees (< MIN_TILT), so
# the detector is not run on it (see straighten_batch for what this saved and cost)
BATCH = 8  # crops whose detector inputs have the same shape share a detector pass


def tilt_degrees(poly: np.ndarray) -> float:
    """Angle in degrees (0..90) between the long side of the polygon's minimum-area rectangle and
    the horizontal."""
    _, (rw, rh), ang = cv2.minAreaRect(poly.astype(np.float32))
    if rw < rh:
        ang -= 90
    return float(abs((ang + 90) % 180 - 90))


def needs_detector(crop: np.ndarray) -> bool:
    """Whether a crop may hold a tilted or curved word: not tiny, and not a long level strip."""
    h, w = crop.shape[:2]
    return min(h, w) >= 4 and w <= MAX_ASPECT * h


def _canvas(crop: np.ndarray) -> tuple[np.ndarray, int]:
    """The crop inside a replicated border, and the long side at which the detector sees it."""
    h, w = crop.shape[:2]
    pad = int(PAD * max(h, w))
    canvas = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return canvas, int(np.clip(max(canvas.shape[:2]) * TEXT_PX / max(min(h, w), 1), 160, 800))


def _main_polygon(found: list[dict], crop: np.ndarray) -> np.ndarray | None:
    """The largest polygon, when it covers ``MIN_COVER`` of the crop."""
    if not found:
        return None
    h, w = crop.shape[:2]
    areas = [Polygon(d["polygon"]).buffer(0).area for d in found]
    k = int(np.argmax(areas))
    return None if areas[k] < MIN_COVER * h * w else np.asarray(found[k]["polygon"], np.float32)


def main_polygon(det, crop: np.ndarray, device: str = "cpu") -> tuple[np.ndarray, np.ndarray] | None:
    """(padded crop, the largest text polygon found in it), or None when the detector finds no
    polygon covering ``MIN_COVER`` of the crop."""
    canvas, size = _canvas(crop)
    poly = _main_polygon(detect_sized(det, [canvas], [size], 1, device)[0], crop)
    return None if poly is None else (canvas, poly)


def _cut_straight(canvas: np.ndarray, poly: np.ndarray | None) -> np.ndarray | None:
    if poly is None:
        return None
    curved = len(poly) > 4 and is_curved(poly)
    if not curved and tilt_degrees(poly) <= MIN_TILT:
        return None
    try:
        out = crop_polygon(canvas, poly)
    except (ValueError, cv2.error):
        return None
    return out if out.size and min(out.shape[:2]) >= 2 else None


def straighten_batch(det, crops: list[np.ndarray], device: str = "cpu", batch_size: int | None = None) -> list:
    """For each crop, its word cut out straight along the detector's polygon, or None when the crop
    cannot hold a tilted word (``needs_detector``), or the detector finds no main word or finds it
    already straight and level. The detector runs once per batch of crops whose inputs have one shape
    (word crops mostly come to a few: 29 shapes for the 445 ICDAR2015 val words).
    Measured on held-out crops with the shipped models (``ocr eval``): see the README."""
    todo = [k for k, c in enumerate(crops) if needs_detector(c)]
    out: list[np.ndarray | None] = [None] * len(crops)
    if not todo:
        return out
    canvases = [_canvas(crops[k]) for k in todo]
    # only inputs of one shape share a pass (no padding): padded batches changed two ICDAR2015 readings
    found = detect_sized(det, [c for c, _ in canvases], [s for _, s in canvases], batch_size or BATCH, device,
                         waste=0.0)
    for k, (canvas, _), dets in zip(todo, canvases, found):
        out[k] = _cut_straight(canvas, _main_polygon(dets, crops[k]))
    return out


def straightened(det, crop: np.ndarray, device: str = "cpu") -> np.ndarray | None:
    """The word of ``crop`` cut out straight along the detector's polygon, or None (one crop of
    ``straighten_batch``)."""
    return straighten_batch(det, [crop], device)[0]
