"""Batched recognition of crops: width-sorted batches, tall crops tried turned by 90 degrees."""
from __future__ import annotations

import inspect

import numpy as np
import torch

from ocr.data.rec_transforms import TRAILING_PAD, pad_batch, pad_for_reading, resize_crop, to_tensor
from ocr.pipeline.rectify import TALL_RATIO, upright_candidates
from ocr.pipeline.straighten_crop import straightened


def _postprocess_kwargs(model, widths, beam: int, lexicon) -> dict:
    """Only the keyword arguments this recognizer's postprocess accepts."""
    params = inspect.signature(model.postprocess).parameters
    kw = {"widths": widths, "beam": beam, "lexicon": lexicon}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in kw.items() if v not in (None, 0) or k == "widths"}
    return {k: v for k, v in kw.items() if k in params and (v not in (None, 0) or k == "widths")}


@torch.inference_mode()
def recognize_crops(model, crops: list[np.ndarray], batch_size: int = 32, device: str = "cpu",
                    beam: int = 0, lexicon: list[str] | None = None) -> list[tuple[str, float]]:
    """[(text, confidence)] for RGB crops as given (no turning), in input order."""
    if not crops:
        return []
    height = int(model.config.img_height)
    max_width = int(getattr(model.config, "max_width", 800))
    resized = [resize_crop(c, height, max_width) for c in crops]
    order = sorted(range(len(resized)), key=lambda i: resized[i].shape[1])
    packed = "widths" in inspect.signature(model.forward).parameters  # reads each crop + grey
    out: list[tuple[str, float] | None] = [None] * len(crops)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        widths = [resized[i].shape[1] for i in idx]
        tensors = [to_tensor(resized[i]) for i in idx]
        if packed:
            batch, read = pad_for_reading(tensors)
            logits = model(batch.to(device), widths=read)
        else:
            logits = model(pad_batch(tensors, extra=int(TRAILING_PAD * height)).to(device))
        decoded = model.postprocess(logits, **_postprocess_kwargs(model, widths, beam, lexicon))
        for i, (text, conf) in zip(idx, decoded):
            out[i] = (text, float(conf))
    return out  # type: ignore[return-value]


def read_crops(model, crops: list[np.ndarray], batch_size: int = 32, device: str = "cpu",
               beam: int = 0, lexicon: list[str] | None = None,
               turnable: list[bool] | None = None, straighten_with=None) -> list[tuple[str, float]]:
    """Like ``recognize_crops``, but a tall crop is read every way ``upright_candidates`` gives and
    the most confident non-empty reading is kept; crops marked False in ``turnable`` are read only
    as they are. ``straighten_with``: a detector; a crop whose word it finds tilted or curved is
    also read cut out straight along the word (``straighten_crop``)."""
    flat, owner = [], []
    for k, crop in enumerate(crops):
        cands = upright_candidates(crop) if turnable is None or turnable[k] else [crop]
        if straighten_with is not None:
            straight = straightened(straighten_with, crop, device)
            cands = cands + ([straight] if straight is not None else [])
        for cand in cands:
            flat.append(cand)
            owner.append(k)
    readings = recognize_crops(model, flat, batch_size, device, beam, lexicon)
    best: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    for k, (text, conf) in zip(owner, readings):
        cur = best[k]
        if (bool(text), conf) > (bool(cur[0]), cur[1]):
            best[k] = (text, conf)
    return best


def turnable_on_page(crops: list[np.ndarray], min_lines: float = 2.0) -> list[bool]:
    """Which crops of one page may hold vertical text: a tall crop no taller than ``min_lines``
    times the page's median horizontal text height is a glyph or two of a horizontal line
    (``:``, ``1``, ``I``), which reads wrongly when turned. Pages without horizontal text
    leave every crop turnable."""
    heights = [c.shape[0] for c in crops if c.shape[0] <= TALL_RATIO * c.shape[1]]
    if not heights:
        return [True] * len(crops)
    limit = min_lines * float(np.median(heights))
    return [c.shape[0] > limit for c in crops]
