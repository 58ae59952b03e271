"""Polygon-aware geometric and photometric augmentation for text detection.

Every geometric step is one affine matrix applied to the image (OpenCV ``warpAffine``) and to the
polygons (exactly), so they stay consistent: scale, aspect jitter, rotation (small angles most of
the time, any angle sometimes) and the crop are composed into a single warp straight into the
``size x size`` output. The crop window is picked among random candidates (most centred on a text
instance) preferring one that cuts through no non-ignored instance; instances cut anyway are
clipped (shapely) and become ignored when too little of them is left.

Coordinates follow :mod:`ocr.data.fce_targets`: continuous pixels, pixel centres at ``j + 0.5``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ocr.geometry import make_clockwise, polygon_parts, signed_area

from .fce_targets import text_height_estimate

MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # the detector's input normalisation (ImageNet)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# each channel's 256 normalised values: a table lookup is twice as fast as the arithmetic
_NORMALIZED = ((np.arange(256, dtype=np.float32)[None] / 255.0 - MEAN[:, None]) / STD[:, None]).astype(np.float32)


def normalize_image(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> float32 (3, H, W), ImageNet mean/std on [0, 1] values (training and
    reading alike)."""
    out = np.empty((3, *image.shape[:2]), np.float32)
    for c in range(3):
        np.take(_NORMALIZED[c], image[:, :, c], out=out[c])
    return out


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation. Zoom is relative to fitting the image's long (or short) side to
    ``scale_base`` (0: to ``size``, the crop); zoom and aspect are drawn log-uniformly; angles in
    degrees. Setting ``scale_base`` to the test size trains on text at the sizes met at test time."""

    size: int = 640
    scale_range: tuple = (0.5, 2.5)
    scale_base: int = 0
    scale_reference: str = "long"  # "long" | "short"
    aspect_range: tuple = (0.8, 1.25)  # x stretch / y stretch
    rotate_prob: float = 0.5
    small_angle_std: float = 10.0
    any_angle_prob: float = 0.1  # share of rotations drawn uniformly from [-180, 180)
    crop_tries: int = 30
    text_crop_prob: float = 0.9  # candidate crops centred on a text instance
    keep_cut_ratio: float = 0.6  # a cut instance keeping less of its area becomes ignored
    min_text_size: float = 3.0  # thinner texts (output pixels) become ignored
    color_prob: float = 0.8
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.4
    hue: float = 0.03  # fraction of the hue circle


# ----------------------------------------------------------------------------- affine helpers
def to_opencv(matrix: np.ndarray) -> np.ndarray:
    """A 2x3 affine in continuous coordinates -> the same map in OpenCV's pixel-centre frame."""
    a, t = matrix[:, :2], matrix[:, 2]
    return np.concatenate([a, (a @ np.array([0.5, 0.5]) + t - 0.5)[:, None]], 1)


def warp_image(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border=0,
               interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Warp ``image`` by the continuous-coordinate affine ``matrix`` into ``size = (w, h)``."""
    return cv2.warpAffine(image, to_opencv(matrix).astype(np.float64), size, flags=interpolation,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def transform_points(pts: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to ``(N, 2)`` points."""
    return (np.asarray(pts, np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def _compose(*mats: np.ndarray) -> np.ndarray:
    """Product of 2x3 affines, rightmost applied first."""
    out = np.eye(3)
    for m in mats:
        out = out @ np.vstack([m, [0, 0, 1]])
    return out[:2]


def scale_rotate(shape: tuple[int, int], sx: float, sy: float, angle: float) -> tuple[np.ndarray, tuple]:
    """Affine scaling by (sx, sy) then rotating by ``angle`` degrees, translated so the whole
    transformed image lies in ``[0, cw) x [0, ch)``. Returns (matrix, (cw, ch))."""
    h, w = shape
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]])
    m = _compose(rot, np.array([[sx, 0, 0], [0, sy, 0]]))
    corners = transform_points(np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64), m)
    lo, hi = corners.min(0), corners.max(0)
    m = _compose(np.array([[1, 0, -lo[0]], [0, 1, -lo[1]]]), m)
    return m, (float(hi[0] - lo[0]), float(hi[1] - lo[1]))


# ----------------------------------------------------------------------------- crop and clip
def _window_range(extent: float, size: int) -> tuple[float, float]:
    return (0.0, extent - size) if extent >= size else (extent - size, 0.0)


def choose_crop(boxes: np.ndarray, canvas: tuple[float, float], size: int, cfg: AugmentConfig,
                rng: np.random.Generator) -> tuple[float, float]:
    """Top-left of a ``size`` square window on a ``canvas = (cw, ch)`` plane. ``boxes`` (n, 4)
    are xyxy boxes of non-ignored texts. Prefers windows that cut no box and hold one."""
    (xlo, xhi), (ylo, yhi) = _window_range(canvas[0], size), _window_range(canvas[1], size)
    best, best_key = (rng.uniform(xlo, xhi), rng.uniform(ylo, yhi)), None
    for _ in range(cfg.crop_tries):
        if len(boxes) and rng.random() < cfg.text_crop_prob:
            b = boxes[rng.integers(len(boxes))]
            x0 = _sample_cover(b[0], b[2], size, xlo, xhi, rng)
            y0 = _sample_cover(b[1], b[3], size, ylo, yhi, rng)
        else:
            x0, y0 = rng.uniform(xlo, xhi), rng.uniform(ylo, yhi)
        inside = ((boxes[:, 0] >= x0) & (boxes[:, 2] <= x0 + size) &
                  (boxes[:, 1] >= y0) & (boxes[:, 3] <= y0 + size)) if len(boxes) else np.zeros(0, bool)
        overlap = ((boxes[:, 2] > x0) & (boxes[:, 0] < x0 + size) &
                   (boxes[:, 3] > y0) & (boxes[:, 1] < y0 + size)) if len(boxes) else np.zeros(0, bool)
        key = (int((overlap & ~inside).sum()), -int(inside.sum()))
        if best_key is None or key < best_key:
            best, best_key = (x0, y0), key
        if key[0] == 0 and (key[1] < 0 or not len(boxes)):
            break
    return best


def _sample_cover(b0: float, b1: float, size: int, lo: float, hi: float, rng) -> float:
    """Window start covering ``[b0, b1]`` when possible, within ``[lo, hi]``."""
    a, b = max(lo, b1 - size), min(hi, b0)
    if a > b:  # too big to cover: a window inside it
        a, b = max(lo, min(b0, b1 - size)), min(hi, max(b0, b1 - size))
        a, b = min(a, b), max(a, b)
    return float(rng.uniform(a, b)) if b > a else float(np.clip(a, lo, hi))


def clip_polygons(polys: list, ignore: list, width: float, height: float, keep_ratio: float,
                  min_size: float = 0.0) -> tuple[list, list]:
    """Clip polygons to ``[0, width] x [0, height]``. Untouched polygons keep their exact points;
    cut texts keeping under ``keep_ratio`` of their area, or thinner than ``min_size``, become
    ignored; empty ones are dropped."""
    frame = box(0, 0, width, height)
    out_p, out_i = [], []
    for p, ig in zip(polys, ignore):
        p = np.asarray(p, np.float32)
        if len(p) < 3:
            continue
        lo, hi = p.min(0), p.max(0)
        if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= width and hi[1] <= height:
            parts, full = [p], abs(signed_area(p))
        else:
            parts, full = _clip_parts(p, frame)
        for q in parts:
            area = abs(signed_area(q))
            if area < 1e-3:
                continue
            small = text_height_estimate(q.astype(np.float64)) < min_size
            out_p.append(q)
            out_i.append(bool(ig or small or area < keep_ratio * max(full, 1e-9)))
    return out_p, out_i


def _clip_parts(p: np.ndarray, frame) -> tuple[list, float]:
    geom = Polygon(p)
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    full = geom.area
    clipped = geom.intersection(frame)
    parts = polygon_parts(clipped)
    return [make_clockwise(np.asarray(g.exterior.coords[:-1], np.float32)) for g in parts], full


def polygon_boxes(polys: list) -> np.ndarray:
    """(n, 4) xyxy boxes."""
    if not polys:
        return np.zeros((0, 4), np.float32)
    return np.array([np.concatenate([p.min(0), p.max(0)]) for p in polys], np.float32)


# ----------------------------------------------------------------------------- photometric
def color_jitter(image: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation and hue jitter of an RGB uint8 image."""
    img = image.astype(np.float32)
    img *= rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)
    gray = img @ np.array([0.299, 0.587, 0.114], np.float32)  # (H, W)
    img = (img - gray.mean()) * rng.uniform(1 - cfg.contrast, 1 + cfg.contrast) + gray.mean()
    gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = gray[..., None] + (img - gray[..., None]) * rng.uniform(1 - cfg.saturation, 1 + cfg.saturation)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if cfg.hue > 0:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        shift = int(round(rng.uniform(-cfg.hue, cfg.hue) * 180))
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return img


# ----------------------------------------------------------------------------- pipelines
class DetAugment:
    """``(image RGB uint8, polygons, ignore flags) -> (size x size image, polygons, ignore)``."""

    def __init__(self, cfg: AugmentConfig | None = None):
        self.cfg = cfg or AugmentConfig()

    def sample_angle(self, rng: np.random.Generator) -> float:
        cfg = self.cfg
        if rng.random() >= cfg.rotate_prob:
            return 0.0
        if rng.random() < cfg.any_angle_prob:
            return float(rng.uniform(-180, 180))
        return float(np.clip(rng.normal(0, cfg.small_angle_std), -3 * cfg.small_angle_std, 3 * cfg.small_angle_std))

    def sample_matrix(self, shape: tuple[int, int], polys: list, ignore: list,
                      rng: np.random.Generator) -> np.ndarray:
        """The full image -> output affine (scale, aspect, rotation, crop)."""
        cfg = self.cfg
        h, w = shape
        ref = max(h, w) if cfg.scale_reference == "long" else min(h, w)
        zoom = (cfg.scale_base or cfg.size) / ref * math.exp(rng.uniform(*np.log(cfg.scale_range)))
        aspect = math.exp(rng.uniform(*np.log(cfg.aspect_range)))
        m, canvas = scale_rotate(shape, zoom * math.sqrt(aspect), zoom / math.sqrt(aspect),
                                 self.sample_angle(rng))
        texts = [transform_points(p, m) for p, ig in zip(polys, ignore) if not ig and len(p) >= 3]
        x0, y0 = choose_crop(polygon_boxes(texts), canvas, cfg.size, cfg, rng)
        return _compose(np.array([[1, 0, -x0], [0, 1, -y0]]), m)

    def __call__(self, image: np.ndarray, polys: list, ignore: list,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, list, list]:
        rng = rng if rng is not None else np.random.default_rng()
        cfg = self.cfg
        m = self.sample_matrix(image.shape[:2], polys, ignore, rng)
        border = tuple(float(v) for v in image.reshape(-1, image.shape[-1]).mean(0))
        out = warp_image(image, m, (cfg.size, cfg.size), border)
        moved = [transform_points(p, m) for p in polys]
        moved, ignore = clip_polygons(moved, ignore, cfg.size, cfg.size, cfg.keep_cut_ratio,
                                      cfg.min_text_size)
        if rng.random() < cfg.color_prob:
            out = color_jitter(out, cfg, rng)
        return out, moved, ignore


def resize_for_test(image: np.ndarray, test_size: int, side: str = "long", max_size: int | None = None,
                    multiple: int = 32) -> tuple[np.ndarray, tuple[float, float]]:
    """Resize so the ``side`` ("long" | "short") is ``test_size`` (long side capped at
    ``max_size``), keeping aspect. Returns the resized image (not padded) and ``(sx, sy)``, the
    exact factors from original to resized pixels. Pad with :func:`pad_to_multiple`."""
    h, w = image.shape[:2]
    s = test_size / (max(h, w) if side == "long" else min(h, w))
    if max_size is not None:
        s = min(s, max_size / max(h, w))
    nw, nh = max(multiple, int(round(w * s))), max(multiple, int(round(h * s)))
    out = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return out, (nw / w, nh / h)


def pad_to_multiple(array: np.ndarray, multiple: int = 32, value=0) -> np.ndarray:
    """Pad the bottom/right of an ``(H, W, ...)`` array up to multiples of ``multiple``."""
    h, w = array.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if not (ph or pw):
        return array
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pad, constant_values=value)
