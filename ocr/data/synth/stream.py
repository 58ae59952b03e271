"""Synthetic recognition crops rendered on the fly, as a training source beside LMDB stores.

A recipe's train entry ``{synth: crops, geometry: scene, seed: 1, ratio: 0.2}`` reads sample ``i``
as ``CropGenerator.make(rng(seed, i + 1))``: the image of sample ``i + 1`` of the store that
``tools/synth.py crops --geometry scene --seed 1`` writes (before its JPEG encoding); with
``photo_bg: DIR`` that of ``tools/synth.py crops --photo-bg DIR``. DataLoader
workers render it on the CPU cores while the model trains, and since a sample depends on
(seed, index) alone, a resumed run sees exactly the samples of an uninterrupted one.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ocr.data.rec_transforms import WidthJitter, resize_crop, to_tensor, width_factor
from ocr.text.charset import Charset

from .engine import make_generator, make_sample
from .fonts import discover_fonts

SIZE = 1_000_000  # samples a stream offers the ratio sampler (indices are drawn at random)
RETRIES = 64  # a label the model cannot learn is replaced by the next sample's


class SynthCropStream(Dataset):
    """``size`` synthetic crops of one (geometry, seed), rendered when asked for."""

    def __init__(self, charset: Charset, geometry: str = "plain", seed: int = 0, height: int = 32,
                 max_width: int = 512, max_length: int = 25, size: int = SIZE, photo_bg: str = "",
                 width_jitter: WidthJitter | None = None):
        from .crops import GEOMETRIES

        if geometry not in GEOMETRIES:
            raise ValueError(f"synth crops: unknown geometry {geometry!r}; expected one of {', '.join(GEOMETRIES)}")
        self.charset, self.geometry, self.seed = charset, geometry, int(seed)
        self.height, self.max_width, self.max_length, self.size = height, max_width, max_length, size
        self.photo_bg, self.width_jitter = photo_bg, width_jitter
        self._gen = None  # built in each worker process on first use
        discover_fonts()  # found once here (and inherited by forked workers); raises if none

    def __len__(self) -> int:
        return self.size

    def report(self) -> str:
        photo = f", photo backgrounds {self.photo_bg}" if self.photo_bg else ""
        return f"synth crops (geometry {self.geometry}, seed {self.seed}{photo}): rendered on the fly"

    def sample(self, i: int) -> tuple[np.ndarray, str]:
        """(RGB image, label) of sample ``i`` (0-based): the first of samples i+1, i+2, ... of the
        (geometry, seed) run whose label the charset and ``max_length`` accept."""
        if self._gen is None:
            import cv2

            cv2.setNumThreads(1)  # one worker per core
            self._gen = make_generator("crops", self.seed, geometry=self.geometry, photo_bg=self.photo_bg or None)
        for k in range(RETRIES):
            img, label = make_sample(self._gen, self.seed, i + 1 + k)
            text = self.charset.normalize(label)
            if text and not self.charset.unknown(text) and len(text) <= self.max_length:
                return img, text
        raise ValueError(f"synth crops (seed {self.seed}): {RETRIES} samples from {i + 1} have unusable labels "
                         f"for charset {self.charset.name!r}")

    def get(self, i: int, draw: int) -> tuple[torch.Tensor, str]:
        img, text = self.sample(i)
        stretch = width_factor(self.width_jitter, self.seed, draw)
        return to_tensor(resize_crop(img, self.height, self.max_width, stretch=stretch)), text

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return self.get(i, i)


def synth_source(src, charset: Charset, height: int, max_width: int, max_length: int,
                 width_jitter: WidthJitter | None = None) -> SynthCropStream:
    """The on-the-fly stream of a recipe's ``{synth: crops, ...}`` train entry."""
    if src.synth != "crops":
        raise ValueError(f"train entry synth: {src.synth!r}: only 'crops' renders on the fly (recognition)")
    return SynthCropStream(charset, src.geometry, src.seed, height, max_width, max_length, photo_bg=src.photo_bg,
                           width_jitter=width_jitter)
