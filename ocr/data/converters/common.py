"""Shared pieces of the dataset converters: the conversion report, image checks, polygon helpers.

A converter never stops on one bad file: a corrupt image or a malformed ground-truth line gives a
one-line warning naming the file, is counted in the :class:`Report`, and the rest goes on.
"""
from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ocr.geometry import signed_area

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
EXIF_ORIENTATION = 0x0112


class SkipSample(Exception):
    """Raised by a reader for a sample that cannot be converted (the message says why)."""


@dataclass
class Report:
    """Counts of one conversion, plus the warnings it printed."""

    samples: int = 0
    skipped_images: int = 0
    skipped_lines: int = 0
    skipped_crops: int = 0
    reencoded: int = 0
    warnings: list = field(default_factory=list)
    quiet: bool = False

    def warn(self, path, reason: str) -> None:
        """Record and print one warning line naming the file."""
        msg = f"warning: {path}: {reason}"
        self.warnings.append(msg)
        if not self.quiet:
            print(msg, file=sys.stderr)

    def bad_line(self, path, lineno: int, reason: str) -> None:
        """A malformed ground-truth line: warn and count it (the image is still kept)."""
        self.skipped_lines += 1
        self.warn(f"{path}:{lineno}", reason)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in
                ("samples", "skipped_images", "skipped_lines", "skipped_crops", "reencoded")}


def natural_key(path) -> list:
    """Sort key so that img_2 comes before img_10."""
    name = Path(path).name
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder, naturally sorted."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such image folder")
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=natural_key)


def read_text(path: Path) -> str:
    """UTF-8 text with an optional BOM stripped (falls back to Latin-1 for legacy files)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _exif_orientation(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.getexif().get(EXIF_ORIENTATION, 1) or 1)
    except Exception:  # noqa: BLE001 - unreadable EXIF is treated as "no rotation"
        return 1


def load_image(path: Path, report: Report) -> tuple[bytes, np.ndarray]:
    """Original bytes and decoded BGR image. Images with an EXIF rotation are re-encoded upright
    (OpenCV applies the orientation when decoding, so stored pixels match what readers see)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SkipSample(f"cannot read image ({e.strerror})") from None
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise SkipSample("image does not decode (corrupt or unsupported)")
    if _exif_orientation(data) not in (0, 1):
        ext = ".png" if path.suffix.lower() == ".png" else ".jpg"
        ok, buf = cv2.imencode(ext, img, [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else [])
        if not ok:
            raise SkipSample("cannot re-encode EXIF-rotated image")
        data = buf.tobytes()
        report.reencoded += 1
    return data, img


def _num(v: float):
    """Integral coordinates as int, others rounded to 2 decimals (compact JSON)."""
    v = float(v)
    return int(v) if v.is_integer() else round(v, 2)


def make_polygon(coords, min_points: int = 4) -> list[list]:
    """Flat [x1, y1, x2, y2, ...] or [[x, y], ...] -> clockwise [[x, y], ...] (image coordinates,
    y down). Counter-clockwise input is reversed keeping its first point. Raises ValueError."""
    arr = np.asarray(coords, dtype=np.float64).reshape(-1)
    if arr.size % 2 or arr.size < 2 * min_points:
        raise ValueError(f"need at least {min_points} points, got {arr.size} numbers")
    if not np.all(np.isfinite(arr)):
        raise ValueError("non-finite coordinate")
    pts = arr.reshape(-1, 2)
    if signed_area(pts) < 0:
        pts = np.concatenate([pts[:1], pts[:0:-1]])
    return [[_num(x), _num(y)] for x, y in pts]


def box_polygon(left: float, top: float, right: float, bottom: float) -> list[list]:
    """Axis-aligned box -> clockwise quad starting top-left."""
    if right < left or bottom < top:
        raise ValueError(f"inverted box {left},{top},{right},{bottom}")
    return make_polygon([left, top, right, top, right, bottom, left, bottom])


def instance(polygon: list, text: str, ignore: bool = False) -> dict:
    """One `words`/`lines` entry of the ocr-det-v1 annotation."""
    return {"polygon": polygon, "text": text, "ignore": bool(ignore)}


def det_annotation(img: np.ndarray, words=None, lines=None, text: str | None = None) -> dict:
    """ocr-det-v1 annotation for a decoded image (width/height taken from the image)."""
    ann = {"width": int(img.shape[1]), "height": int(img.shape[0])}
    if words is not None:
        ann["words"] = words
    if lines is not None:
        ann["lines"] = lines
    if text is not None:
        ann["text"] = text
    return ann


def find_gt(gt_dir: Path, image: Path, patterns: tuple[str, ...]) -> Path | None:
    """First existing ground-truth file for an image; patterns use ``{stem}``."""
    for pat in patterns:
        cand = gt_dir / pat.format(stem=image.stem)
        if cand.exists():
            return cand
    return None
