"""Cut word/line crops out of detection samples into recognition samples.

Quads are perspective-rectified with their own point order (the first point is the top-left of
the text as annotated); other polygons use their minimum-area rectangle. Don't-care (``ignore``)
instances and empty transcriptions are skipped silently; crops smaller than 2 px are counted."""
from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from ocr.geometry import signed_area

from .common import Report

MIN_SIDE = 2


def order_rect(pts: np.ndarray) -> np.ndarray:
    """Clockwise 4 corners of a rectangle, starting at the top-left end of a long side."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    if signed_area(pts) < 0:
        pts = pts[::-1]
    best, best_key = pts, None
    for r in range(4):
        q = np.roll(pts, -r, axis=0)
        long_first = np.linalg.norm(q[1] - q[0]) >= np.linalg.norm(q[2] - q[1]) - 1e-6
        key = (not long_first, float(q[0, 1] + q[1, 1]))
        if best_key is None or key < best_key:
            best, best_key = q, key
    return best


def rectify(img: np.ndarray, polygon) -> np.ndarray | None:
    """Perspective-rectified crop of a polygon, or None when it is under MIN_SIDE pixels."""
    pts = np.asarray(polygon, np.float32).reshape(-1, 2)
    if len(pts) != 4:
        pts = order_rect(cv2.boxPoints(cv2.minAreaRect(pts)))
    w = int(round(max(np.linalg.norm(pts[1] - pts[0]), np.linalg.norm(pts[2] - pts[3]))))
    h = int(round(max(np.linalg.norm(pts[3] - pts[0]), np.linalg.norm(pts[2] - pts[1]))))
    if w < MIN_SIDE or h < MIN_SIDE:
        return None
    dst = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(pts, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def pick_level(ann: dict, level: str = "auto") -> str:
    """``words`` or ``lines``; ``auto`` prefers words when the annotation has any."""
    if level in ("words", "lines"):
        return level
    if level != "auto":
        raise ValueError(f"crop level must be auto, words or lines, not {level!r}")
    return "words" if ann.get("words") else "lines"


def iter_crops(image_bytes: bytes, ann: dict, report: Report, level: str = "auto",
               name: str = "image") -> Iterator[tuple[bytes, str]]:
    """(JPEG bytes, text) for each readable instance of one detection sample."""
    img = cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        report.warn(name, "image does not decode; no crops")
        return
    for k, inst in enumerate(ann.get(pick_level(ann, level)) or []):
        if inst.get("ignore") or not inst.get("text", "").strip():
            continue
        crop = rectify(img, inst["polygon"])
        if crop is None:
            report.skipped_crops += 1
            report.warn(name, f"instance {k} ({inst['text']!r}) is smaller than {MIN_SIDE} px")
            continue
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if ok:
            yield buf.tobytes(), inst["text"]
