"""Recognition preprocessing (shared by training and inference) and training augmentation."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # reading runs on numpy arrays; training's datasets make tensors
    import torch


def resize_crop(img: np.ndarray, height: int, max_width: int, min_width: int = 16,
                stretch: float = 1.0) -> np.ndarray:
    """Resize an RGB crop to ``height`` keeping the aspect ratio (times ``stretch`` in width), width
    clamped to [min, max]."""
    h, w = img.shape[:2]
    width = int(round(w * height / max(h, 1) * stretch))
    width = max(min_width, min(max_width, width))
    interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


class WidthJitter:
    """Training augmentation: with probability ``p`` a crop is read at a width between ``lo`` and
    ``hi`` times its own (log-uniform), height kept. Rereading showed the recognizer reads narrow
    characters (curved or slanted words in a taller box) better once stretched wider, so it is taught
    narrower and wider characters than the stores hold. Recipes set it as ``data_args.width_jitter:
    [p, lo, hi]``."""

    def __init__(self, p: float, lo: float, hi: float):
        if not (0 <= p <= 1 and 0 < lo <= 1 <= hi):
            raise ValueError(f"width_jitter [p, lo, hi] = [{p}, {lo}, {hi}]: expected 0 <= p <= 1 and 0 < lo <= 1 <= hi")
        self.p, self.lo, self.hi = float(p), float(lo), float(hi)

    def __call__(self, rng: np.random.Generator) -> float:
        """The width factor of one sample."""
        if rng.random() >= self.p:
            return 1.0
        return float(np.exp(rng.uniform(np.log(self.lo), np.log(self.hi))))


def width_factor(jitter: WidthJitter | None, seed: int, draw: int) -> float:
    """The width factor of stream position ``draw`` (1 without jitter), from a generator apart from
    the augmentation's own, so adding jitter to a recipe leaves every other random choice as it was."""
    return jitter(np.random.default_rng((seed, draw, 0x57))) if jitter is not None else 1.0


def to_array(img: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> float32 (3, H, W) in [-1, 1]."""
    out = img.transpose(2, 0, 1).astype(np.float32)
    out /= np.float32(127.5)
    out -= np.float32(1.0)
    return out


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """``to_array`` as a PyTorch tensor."""
    import torch

    return torch.from_numpy(to_array(img))


# Mid-grey columns, in crop heights, that a recognizer reads after every crop (``pad_for_reading``;
# recipes with data_args.trailing_pad train the same way). CTC recognizers trained on padded
# batches come to expect some grey after the text: the phase-4 rec_default, read without it in
# width-sorted batches, scored ICDAR2015 val 0.275 instead of 0.403. A recognizer's config says
# how much it was trained to read (``trailing_grey``); files saved before that field read 2.
TRAILING_PAD = 2.0


def trailing_grey(model) -> float:
    """Heights of grey ``model`` reads after each crop: its config's ``trailing_grey``."""
    return float(getattr(model.config, "trailing_grey", TRAILING_PAD))


def pad_batch(images: list, multiple: int = 8, extra: int = 0):
    """Right-pad (3, H, W_i) images with the border value 0 (mid-grey) to one width, at least
    ``extra`` columns past the widest: numpy arrays in, a numpy batch out; tensors in, a tensor."""
    width = max(t.shape[2] for t in images) + extra
    width = int(math.ceil(width / multiple) * multiple)
    out = np.zeros((len(images), images[0].shape[0], images[0].shape[1], width), np.float32)
    for i, t in enumerate(images):
        out[i, :, :, : t.shape[2]] = np.asarray(t)
    if isinstance(images[0], np.ndarray):
        return out
    import torch

    return torch.from_numpy(out)


# Grey past a crop's read width when the reader pads it, in heights. On 64 ICDAR2015 crops, the
# phase-4 rec_default's logits at 2 heights agreed to 1e-6 with an unbounded grey tail, at 1 height
# to 0.04, at half a height to 1.5, at none to 4.1. That is the grey after the text: the reader's
# crops carry half a height of it inside their read width (trailing_grey) whatever the edge. p10 read
# with an edge of 1 height and of none (onnxruntime int8, 8 validation sets): mean acc36 0.7425 and
# 0.7421 (net 11 of 5776 crops fewer right: SVT 3 more, ICDAR2015 2, ICDAR2013 3, SROIE 3, FUNSD 6
# fewer); without it the recognizer runs a fifth fewer columns on receipts (10 receipts, whole
# process, median of 4 alternating: 4.84 -> 4.47 s). Recipes from p12 train with
# data_args.edge_grey 0. The reader pads each crop to ``padded_width``, a function of the crop
# alone, and batches only crops padded alike, so a crop reads the same, to the last bit and in int8
# too, whatever else is read with it. (Padding a batch to 2 heights past its longest crop, as
# before, kept fp32 logits within 2e-5 but let int8 rounding flips reach a crop's frames: README.)
READ_EDGE = 0.0
READ_QUANTUM = 16  # padded widths are multiples of this: fewer distinct widths, fuller batches


def pad_for_reading(tensors: list, trailing: float = TRAILING_PAD,
                    edge: float = READ_EDGE) -> tuple[np.ndarray | torch.Tensor, list[int]]:
    """Pad (3, H, W_i) arrays or tensors (``pad_batch``) for a recognizer that reads each one plus
    ``trailing`` heights of grey (packed): the batch and each crop's read width. The batch runs
    ``edge`` heights of grey past the longest read width (training batches; the reader pads each
    crop on its own, ``padded_width``)."""
    height = tensors[0].shape[1]
    extra = int(trailing * height)
    return pad_batch(tensors, extra=extra + int(edge * height)), [t.shape[2] + extra for t in tensors]


def padded_width(width: int, height: int, trailing: float) -> int:
    """Columns the reader pads a crop ``width`` wide to: its read width (``trailing`` heights of grey
    after it) plus ``READ_EDGE`` heights, rounded up to ``READ_QUANTUM``."""
    cols = width + int(trailing * height) + int(READ_EDGE * height)
    return int(math.ceil(cols / READ_QUANTUM) * READ_QUANTUM)


def turn_in_upright_box(img: np.ndarray, deg: float, border=None) -> np.ndarray:
    """``img`` rotated by ``deg`` degrees (counter-clockwise) onto the upright box that holds all of
    it; outside the image: its replicated edge, or the constant colour ``border``."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(w * c + h * s)), int(np.ceil(w * s + h * c))
    m[:, 2] += (nw - w) / 2, (nh - h) / 2
    if border is None:
        return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=border)


class RecAugment:
    """Photometric/geometric augmentation for real crops (synthetic ones are already varied).

    ``light``: mild perspective, blur, contrast, noise, inversion. ``scene`` first gives a crop the
    geometry of scene photos: the word turned inside a larger upright box (as the axis-aligned box
    of a rotated word holds it) or bent along a wave or an arc."""

    PROFILES = ("light", "scene")

    def __init__(self, p: float = 0.5, profile: str = "light"):
        if profile not in self.PROFILES:
            raise ValueError(f"unknown augmentation {profile!r}; expected one of {', '.join(self.PROFILES)}")
        self.p, self.profile = p, profile

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.profile == "scene":
            u = rng.random()
            if u < self.p * 0.5:
                img = self._turn(img, rng)
            elif u < self.p * 0.8:
                img = self._bend(img, rng)
        if rng.random() < self.p * 0.5:
            img = self._perspective(img, rng)
        if rng.random() < self.p * 0.4:
            k = int(rng.choice([3, 5]))
            img = cv2.GaussianBlur(img, (k, k), 0)
        if rng.random() < self.p * 0.5:
            alpha, beta = rng.uniform(0.6, 1.4), rng.uniform(-40, 40)
            img = np.clip(img.astype(np.float32) * alpha + beta, 0, 255).astype(np.uint8)
        if rng.random() < self.p * 0.3:
            noise = rng.normal(0, rng.uniform(3, 12), img.shape)
            img = np.clip(img + noise, 0, 255).astype(np.uint8)
        if rng.random() < self.p * 0.2:
            img = 255 - img
        return img

    @staticmethod
    def _turn(img: np.ndarray, rng: np.random.Generator, max_deg: float = 35.0) -> np.ndarray:
        """Rotate by up to ``max_deg`` (less for long crops) onto the rotated image's upright box."""
        h, w = img.shape[:2]
        limit = max_deg * min(1.0, 4.0 * h / max(w, 1))
        return turn_in_upright_box(img, rng.uniform(limit / 4, limit) * rng.choice([-1, 1]))

    @staticmethod
    def _bend(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Shift each column up or down along a sine or a parabola, up to half the crop height."""
        h, w = img.shape[:2]
        amp = h * rng.uniform(0.15, 0.5)
        x = np.arange(w, dtype=np.float32) / max(w - 1, 1)
        if rng.random() < 0.5:
            dy = amp * np.sin(2 * np.pi * x / rng.uniform(0.8, 2.0) + rng.uniform(0, 2 * np.pi))
        else:
            dy = amp * rng.choice([-1, 1]) * (2 * x - 1) ** 2
        dy -= dy.min()
        nh = h + int(np.ceil(dy.max()))
        map_x = np.broadcast_to(np.arange(w, dtype=np.float32), (nh, w))
        map_y = np.arange(nh, dtype=np.float32)[:, None] - dy[None, :]
        return cv2.remap(img, np.ascontiguousarray(map_x), map_y.astype(np.float32), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    @staticmethod
    def _perspective(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = img.shape[:2]
        d = 0.12 * min(h, w)
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + rng.uniform(-d, d, (4, 2)).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
