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
import torch

from ocr.data.det_dataset import normalize_image  # the detector's training normalisation

MAX_UPSCALE = 2.0  # small images are enlarged at most this much


def det_scale(height: int, width: int, size: int) -> float:
    """Scale that brings the long side to ``size`` pixels, enlarging at most MAX_UPSCALE times."""
    return min(size / max(height, width), MAX_UPSCALE)


def prepare(img: np.ndarray, size: int) -> tuple[torch.Tensor, tuple[float, float]]:
    """RGB uint8 -> normalised (3, H', W') with H', W' multiples of 32, and the (sx, sy) scale."""
    h, w = img.shape[:2]
    s = det_scale(h, w, size)
    nh, nw = max(32, int(round(h * s / 32)) * 32), max(32, int(round(w * s / 32)) * 32)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    t = normalize_image(cv2.resize(img, (nw, nh), interpolation=interp))
    return t, (nw / w, nh / h)


def _pad_stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Zero-pad (3, H_i, W_i) tensors at the bottom/right to one size (zero = the mean colour)."""
    h = max(t.shape[1] for t in tensors)
    w = max(t.shape[2] for t in tensors)
    out = torch.zeros(len(tensors), 3, h, w)
    for i, t in enumerate(tensors):
        out[i, :, : t.shape[1], : t.shape[2]] = t
    return out


@torch.inference_mode()
def detect_images(model, images: list[np.ndarray], size: int = 1280, batch_size: int = 1,
                  device: str = "cpu", min_side: float = 2.0) -> list[list[dict]]:
    """Polygons (original pixels) and scores for each image; tiny regions are dropped."""
    results: list[list[dict]] = []
    for start in range(0, len(images), batch_size):
        chunk = [prepare(im, size) for im in images[start:start + batch_size]]
        batch = _pad_stack([t for t, _ in chunk]).to(device)
        outputs = model(batch)
        found = model.postprocess(outputs, scales=[s for _, s in chunk],
                                  image_sizes=[im.shape[:2] for im in images[start:start + batch_size]])
        for im, dets in zip(images[start:start + batch_size], found):
            results.append([c for c in (_clean(d, im.shape, min_side) for d in dets) if c is not None])
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
