"""Batched recognition of crops: width-sorted batches, tall crops tried turned by 90 degrees."""
from __future__ import annotations

import itertools

import numpy as np

from ocr.data.rec_transforms import pad_batch, padded_width, resize_crop, to_array, trailing_grey
from ocr.models.decoding import GREEDY, DecodeOptions, check_decode_options
from ocr.pipeline.rectify import is_tall, upright_candidates
from ocr.pipeline.straighten_crop import straighten_batch
from ocr.runtime.forward import as_input, inference


def recognize_crops(model, crops: list[np.ndarray], batch_size: int = 32, device: str = "cpu",
                    options: DecodeOptions = GREEDY) -> list[tuple[str, float]]:
    """[(text, confidence)] for RGB crops as given (no turning), in input order, through the
    recognition contract (``ocr.models.contract``): each crop is read plus the trailing grey the
    model was trained with (``rec_transforms.trailing_grey``), in batches of crops padded to the
    same ``padded_width``, so its reading does not depend on the other crops."""
    check_decode_options(model, options)
    if not crops:
        return []
    height = int(model.config.img_height)
    resized = [resize_crop(c, height, int(model.config.max_width)) for c in crops]
    grey = trailing_grey(model)
    extra = int(grey * height)
    out: list[tuple[str, float] | None] = [None] * len(crops)
    for idx, width in reading_batches([r.shape[1] for r in resized], height, grey, batch_size):
        widths = [resized[i].shape[1] for i in idx]
        batch = pad_batch([to_array(resized[i]) for i in idx], extra=width - max(widths))
        with inference(model):
            outputs = model(as_input(model, batch, device), widths=[w + extra for w in widths])
            decoded = model.postprocess(outputs, widths=widths, options=options)
        for i, (text, conf) in zip(idx, decoded):
            out[i] = (text, float(conf))
    return out  # type: ignore[return-value]


def reading_batches(widths: list[int], height: int, trailing: float, batch_size: int) -> list[tuple[list[int], int]]:
    """Crops (indices into ``widths``) grouped by ``padded_width``, at most ``batch_size`` a
    batch, narrowest first; each with the width its batch is padded to."""
    padded = [padded_width(w, height, trailing) for w in widths]
    order = sorted(range(len(widths)), key=lambda i: (padded[i], widths[i]))
    batches = []
    for width, group in itertools.groupby(order, key=padded.__getitem__):
        group = list(group)
        batches += [(group[k:k + batch_size], width) for k in range(0, len(group), batch_size)]
    return batches


def read_crops(model, crops: list[np.ndarray], batch_size: int = 32, device: str = "cpu",
               options: DecodeOptions = GREEDY, turnable: list[bool] | None = None, straighten_with=None) -> list[tuple[str, float]]:
    """Like ``recognize_crops``, but a tall crop is read every way ``upright_candidates`` gives and
    the most confident non-empty reading is kept; crops marked False in ``turnable`` are read only
    as they are. ``straighten_with``: a detector; a crop whose word it finds tilted or curved is
    also read cut out straight along the word (``straighten_crop.straighten_batch``: batched
    detector passes, long level crops skipped)."""
    flat, owner = [], []
    straight = straighten_batch(straighten_with, crops, device) if straighten_with is not None else None
    for k, crop in enumerate(crops):
        cands = upright_candidates(crop) if turnable is None or turnable[k] else [crop]
        if straight is not None and straight[k] is not None:
            cands = cands + [straight[k]]
        for cand in cands:
            flat.append(cand)
            owner.append(k)
    readings = recognize_crops(model, flat, batch_size, device, options)
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
    heights = [c.shape[0] for c in crops if not is_tall(c)]
    if not heights:
        return [True] * len(crops)
    limit = min_lines * float(np.median(heights))
    return [c.shape[0] > limit for c in crops]
