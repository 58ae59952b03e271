"""Batched recognition of crops: width-sorted batches, tall crops tried turned by 90 degrees."""
from __future__ import annotations

import itertools

import cv2
import numpy as np

from ocr.data.rec_transforms import pad_batch, padded_width, resize_crop, to_array, trailing_grey
from ocr.models.decoding import GREEDY, DecodeOptions, check_decode_options
from ocr.pipeline.rectify import is_tall, upright_candidates
from ocr.pipeline.straighten_crop import straighten_batch
from ocr.runtime.forward import as_input, inference

REREAD_WIDTHS = (0.8, 1.25, 1.5)  # a crop read below REREAD_BELOW confidence is read again resized
REREAD_BELOW = 0.95  # to these times its width (height kept). Measured on the val sets (torch fp32,
# no turning or straightening; 31% of crops reread): SVT 0.681 -> 0.720, ICDAR2015 0.600 -> 0.626,
# SROIE lines 0.841 -> 0.857, synthetic curved 0.683 -> 0.760, perspective 0.677 -> 0.760


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
               options: DecodeOptions = GREEDY, turnable: list[bool] | None = None, straighten_with=None,
               reread: tuple[float, ...] = (), reread_below: float = REREAD_BELOW) -> list[tuple[str, float]]:
    """Like ``recognize_crops``, but a tall crop is read every way ``upright_candidates`` gives and
    the most confident non-empty reading is kept; crops marked False in ``turnable`` are read only
    as they are. ``straighten_with``: a detector; a crop whose word it finds tilted or curved is
    also read cut out straight along the word (``straighten_crop.straighten_batch``: batched
    detector passes, long level crops skipped). ``reread``: width factors (``REREAD_WIDTHS``); a
    crop whose best reading is below ``reread_below`` confidence is read again with the candidate
    that gave it resized to each of them, and the most confident reading is kept."""
    flat, owner = [], []
    straight = straighten_batch(straighten_with, crops, device) if straighten_with is not None else None
    for k, crop in enumerate(crops):
        cands = upright_candidates(crop) if turnable is None or turnable[k] else [crop]
        if straight is not None and straight[k] is not None:
            cands = cands + [straight[k]]
        for cand in cands:
            flat.append(cand)
            owner.append(k)
    best: list[tuple[str, float]] = [("", 0.0)] * len(crops)
    source: list[np.ndarray | None] = [None] * len(crops)
    _keep_best(best, source, owner, flat, recognize_crops(model, flat, batch_size, device, options))
    low = [k for k, (_, conf) in enumerate(best) if conf < reread_below]  # every crop has a source now
    stretched = [(k, _stretch(source[k], f)) for k in low for f in reread]
    if stretched:
        owner2, flat2 = [k for k, _ in stretched], [c for _, c in stretched]
        _keep_best(best, source, owner2, flat2, recognize_crops(model, flat2, batch_size, device, options))
    return best


def _keep_best(best: list, source: list, owner: list[int], flat: list[np.ndarray], readings: list) -> None:
    """Per crop, the most confident non-empty reading so far and the candidate image it came from."""
    for k, cand, (text, conf) in zip(owner, flat, readings):
        cur = best[k]
        if source[k] is None or (bool(text), conf) > (bool(cur[0]), cur[1]):
            best[k], source[k] = (text, conf), cand


def _stretch(img: np.ndarray, factor: float) -> np.ndarray:
    """``img`` resized to ``factor`` times its width, its height kept."""
    w = max(1, int(round(img.shape[1] * factor)))
    return cv2.resize(img, (w, img.shape[0]), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


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
