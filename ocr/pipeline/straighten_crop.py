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

from ocr.pipeline.detect import detect_images
from ocr.pipeline.rectify import crop_polygon, is_curved

MIN_TILT = 10.0  # degrees off horizontal before a straight word is re-cut
MIN_COVER = 0.25  # the polygon must cover this share of the crop to be the crop's word
TEXT_PX = 40  # the crop's short side, in detector pixels
PAD = 0.4  # replicated border around the crop, in its long side


def tilt_degrees(poly: np.ndarray) -> float:
    """Angle in degrees (0..90) between the long side of the polygon's minimum-area rectangle and
    the horizontal."""
    _, (rw, rh), ang = cv2.minAreaRect(poly.astype(np.float32))
    if rw < rh:
        ang -= 90
    return float(abs((ang + 90) % 180 - 90))


def main_polygon(det, crop: np.ndarray, device: str = "cpu") -> tuple[np.ndarray, np.ndarray] | None:
    """(padded crop, the largest text polygon found in it), or None when the detector finds no
    polygon covering ``MIN_COVER`` of the crop."""
    h, w = crop.shape[:2]
    pad = int(PAD * max(h, w))
    canvas = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    size = int(np.clip(max(canvas.shape[:2]) * TEXT_PX / max(min(h, w), 1), 160, 800))
    found = detect_images(det, [canvas], size=size, device=device)[0]
    if not found:
        return None
    areas = [Polygon(d["polygon"]).buffer(0).area for d in found]
    k = int(np.argmax(areas))
    if areas[k] < MIN_COVER * h * w:
        return None
    return canvas, np.asarray(found[k]["polygon"], np.float32)


def straightened(det, crop: np.ndarray, device: str = "cpu") -> np.ndarray | None:
    """The word of ``crop`` cut out straight along the detector's polygon, or None when the
    detector finds no main word or finds it already straight and level."""
    if min(crop.shape[:2]) < 4:
        return None
    hit = main_polygon(det, crop, device)
    if hit is None:
        return None
    canvas, poly = hit
    curved = len(poly) > 4 and is_curved(poly)
    if not curved and tilt_degrees(poly) <= MIN_TILT:
        return None
    try:
        out = crop_polygon(canvas, poly)
    except (ValueError, cv2.error):
        return None
    return out if out.size and min(out.shape[:2]) >= 2 else None
