"""Batched text detection: resize, normalise, pad, run the detector, polygons in original pixels.

The detector contract (``ocr.models.contract.DetectionModel``): ``model(images)`` with images
(B, 3, H, W), RGB in [0, 1] normalised by the ImageNet mean/std, H and W multiples of 32 -> raw
outputs; ``model.postprocess(outputs, scales=[(sx, sy), ...], image_sizes=[(h, w), ...])`` -> per
image a list of ``{"polygon": (N, 2) array in original pixels, "score": float}``, where ``(sx, sy)``
is the factor that took the original image to the network's input (input = original * scale).
"""
from __future__ import annotations

import cv2
import numpy as np

from ocr.data.det_transforms import normalize_image  # the detector's training normalisation
from ocr.pipeline.defaults import DET_SIZE
from ocr.runtime.forward import as_input, inference

MAX_UPSCALE = 2.0  # small images are enlarged at most this much

AUTO = "auto"  # ``size``: chosen per image from the text it holds (``auto_size``)
PROBE_SIZE = 640  # long side of the cheap first pass that measures the text height
TEXT_PX = 40.0  # median height of the first pass's word polygons, scaled to the chosen size, that
# ``auto`` aims for. Held-out receipts read better the larger their text is for the detector: SROIE
# val word F1 0.462 / 0.526 / 0.556 / 0.578 at 960 / 1280 / 1600 / 2048 px (median detected word
# 16.9 / 21.3 / 25.3 / 31.2 px high there). The first pass's polygons are thicker than the final
# ones; its median receipt word, scaled to 1600 px, is 42 px, so 40 keeps the median receipt near
# 1600 and lowers the size only for pages whose text is larger than that
AUTO_RANGE = (640, 1600)  # the long sides ``auto`` may choose: never above the fixed default
MIN_WORDS = 8  # fewer words found by the first pass (a scene photo, or a page of large text the
# first pass cannot measure): FALLBACK_SIZE
FALLBACK_SIZE = DET_SIZE
# Measured (tools/eval_read.py, ocr eval): SROIE val F1 0.557 (1600: 0.556; 13 of 15 receipts stay at
# 1600); every FUNSD val form and ICDAR2015 val photo stays at 1600 (same results, one more pass);
# ICDAR2013 born-digital h-mean 0.802 (1600: 0.813). So ``auto`` is an option, not the default.
REUSE = 1.15  # a chosen size within this factor of the first pass's keeps the first pass's result


def det_scale(height: int, width: int, size: int) -> float:
    """Scale that brings the long side to ``size`` pixels, enlarging at most MAX_UPSCALE times."""
    return min(size / max(height, width), MAX_UPSCALE)


def prepare(img: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float]]:
    """RGB uint8 -> normalised (3, H', W') with H', W' multiples of 32, and the (sx, sy) scale."""
    h, w = img.shape[:2]
    s = det_scale(h, w, size)
    nh, nw = max(32, int(round(h * s / 32)) * 32), max(32, int(round(w * s / 32)) * 32)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    t = normalize_image(cv2.resize(img, (nw, nh), interpolation=interp))
    return t, (nw / w, nh / h)


def _pad_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Zero-pad (3, H_i, W_i) arrays at the bottom/right to one size (zero = the mean colour)."""
    if len(arrays) == 1:
        return arrays[0][None]
    h = max(t.shape[1] for t in arrays)
    w = max(t.shape[2] for t in arrays)
    out = np.zeros((len(arrays), 3, h, w), np.float32)
    for i, t in enumerate(arrays):
        out[i, :, : t.shape[1], : t.shape[2]] = t
    return out


def check_size(size) -> int | str:
    """A detector size as given by a user: ``"auto"`` or a whole number of pixels >= 32."""
    if isinstance(size, str) and size.strip().lower() == AUTO:
        return AUTO
    try:
        value = int(size)
    except (TypeError, ValueError):
        raise ValueError(f"det_size must be 'auto' or a whole number of pixels >= 32, got {size!r}") from None
    if value < 32 or value != float(size):
        raise ValueError(f"det_size must be 'auto' or a whole number of pixels >= 32, got {size!r}")
    return value


def word_heights(dets: list[dict]) -> np.ndarray:
    """Thickness of each region (short side of its minimum-area rectangle), in its pixels."""
    return np.array([min(cv2.minAreaRect(np.asarray(d["polygon"], np.float32))[1]) for d in dets], np.float32)


def auto_size(shape: tuple, dets: list[dict]) -> int:
    """The long side at which the median word height of ``dets`` (found on an image of ``shape``,
    polygons in its pixels) becomes TEXT_PX, within AUTO_RANGE, in steps of 32; FALLBACK_SIZE
    when fewer than MIN_WORDS regions were found."""
    if len(dets) < MIN_WORDS:
        return FALLBACK_SIZE
    height = float(np.median(word_heights(dets)))
    size = max(shape[:2]) * TEXT_PX / max(height, 1.0)
    return int(np.clip(round(size / 32) * 32, *AUTO_RANGE))


def detect_images(model, images: list[np.ndarray], size: int | str = 1280, batch_size: int = 1,
                  device: str = "cpu", min_side: float = 2.0) -> list[list[dict]]:
    """Polygons (original pixels) and scores for each image; tiny regions are dropped.
    ``size``: the long side the detector sees, or ``"auto"``: a first pass at PROBE_SIZE measures
    the words' height, and images whose text needs another size are detected again at
    ``auto_size`` (images of one size batched together)."""
    if size == AUTO:
        return _detect_auto(model, images, batch_size, device, min_side)
    results: list[list[dict]] = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        results += _detect_batch(model, chunk, [prepare(im, size) for im in chunk], device, min_side)
    return results


def _detect_batch(model, images: list[np.ndarray], prepared: list, device: str, min_side: float) -> list[list[dict]]:
    """One detector pass over ``images`` given their ``prepare``d (input, scale) pairs."""
    with inference(model):
        outputs = model(as_input(model, _pad_stack([t for t, _ in prepared]), device))
        found = model.postprocess(outputs, scales=[s for _, s in prepared], image_sizes=[im.shape[:2] for im in images])
    return [[c for c in (_clean(d, im.shape, min_side) for d in dets) if c is not None] for im, dets in zip(images, found)]


def detect_sized(model, images: list[np.ndarray], sizes: list[int], batch_size: int = 8, device: str = "cpu",
                 min_side: float = 2.0, waste: float = 0.25) -> list[list[dict]]:
    """``detect_images`` with a long side of its own for each image. Inputs of similar shape share a
    batch: sorted by shape, an input joins the batch while the padded batch stays within ``1 + waste``
    times the pixels of its inputs (a lone image is never padded)."""
    prepared = [prepare(im, size) for im, size in zip(images, sizes)]
    order = sorted(range(len(images)), key=lambda i: tuple(prepared[i][0].shape[1:]))
    batches: list[list[int]] = []
    for i in order:
        cur = batches[-1] if batches else None
        if cur and len(cur) < batch_size:
            shapes = [prepared[j][0].shape[1:] for j in cur + [i]]
            padded = len(shapes) * max(h for h, _ in shapes) * max(w for _, w in shapes)
            if padded <= (1 + waste) * sum(h * w for h, w in shapes):
                cur.append(i)
                continue
        batches.append([i])
    results: list[list[dict]] = [[] for _ in images]
    for idx in batches:
        found = _detect_batch(model, [images[i] for i in idx], [prepared[i] for i in idx], device, min_side)
        for i, dets in zip(idx, found):
            results[i] = dets
    return results


def _detect_auto(model, images, batch_size, device, min_side) -> list[list[dict]]:
    results = detect_images(model, images, PROBE_SIZE, batch_size, device, min_side)
    again: dict[int, list[int]] = {}
    for k, (im, dets) in enumerate(zip(images, results)):
        h, w = im.shape[:2]
        size = auto_size(im.shape, dets)
        if not 1 / REUSE <= det_scale(h, w, size) / det_scale(h, w, PROBE_SIZE) <= REUSE:
            again.setdefault(size, []).append(k)
    for size, idx in again.items():
        for k, dets in zip(idx, detect_images(model, [images[k] for k in idx], size, batch_size, device, min_side)):
            results[k] = dets
    return results


def _clean(det: dict, shape: tuple, min_side: float) -> dict | None:
    """Clip a detection to the image; None when it is smaller than ``min_side`` pixels."""
    poly = np.asarray(det["polygon"], np.float32).reshape(-1, 2)
    if len(poly) < 3:
        return None
    poly[:, 0] = poly[:, 0].clip(0, shape[1] - 1)
    poly[:, 1] = poly[:, 1].clip(0, shape[0] - 1)
    (_, _), (w, h), _ = cv2.minAreaRect(poly)
    if min(w, h) < min_side:
        return None
    return {"polygon": poly, "score": float(det.get("score", 1.0))}
