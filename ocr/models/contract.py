"""The contract every model of a task implements. The pipeline (``Reader``), the trainer and the
evaluation rely on it and on nothing else: nobody inspects signatures.

Recognition (``RecognitionModel``; CTC and sequence decoders alike)::

    outputs = model(images, widths=None, targets=None)
        images  (B, 3, H, W) float in [0, 1], H = config.img_height, right-padded with grey
        widths  columns of each image to read (its pixels plus trailing grey; None = all)
        targets ``TextTargets`` while training: sequence decoders teacher-force with them inside
                forward (so it runs in the DDP-wrapped module); CTC models ignore them
    model.loss(outputs, targets) -> {"loss": scalar, ...parts}
    model.postprocess(outputs, widths, options) -> [(text, confidence)]
        widths  each image's width before padding; options: ``DecodeOptions``
    model.config.img_height / max_width / max_length; model.tokenizer; model.decode_options

Detection (``DetectionModel``)::

    outputs = model(images)          (B, 3, H, W) normalised, H and W multiples of 32
    model.loss(outputs, targets)     targets: the task's dict of tensors
    model.postprocess(outputs, scales=[(sx, sy)], image_sizes=[(h, w)])
        -> per image [{"polygon": (N, 2) in original pixels, "score": float}]

Full page (``FullPageModel``; an image in, its lines of text in reading order out)::

    outputs = model(images, targets=None)    images (B, 3, H, W) at config.img_height x img_width
    model.loss(outputs, targets) -> {"loss": ...}
    model.postprocess(outputs, options) -> per image [(line text, confidence)], top to bottom

A decoding option a model does not list in ``decode_options`` is an error naming the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch.nn as nn

DECODE_OPTIONS = ("beam", "lexicon")


class UnsupportedOption(ValueError):
    """A decoding option the model cannot honour."""


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode: ``beam`` > 1 searches that many hypotheses (0 or 1: greedy); ``lexicon``
    constrains the output to one of its words."""

    beam: int = 0
    lexicon: tuple[str, ...] | None = None

    def __post_init__(self):
        if not isinstance(self.beam, int) or self.beam < 0:
            raise ValueError(f"beam must be a whole number >= 0 (0 = greedy), got {self.beam!r}")
        if self.lexicon is not None:
            object.__setattr__(self, "lexicon", tuple(self.lexicon) or None)

    def requested(self) -> list[str]:
        """The options that ask for more than greedy decoding."""
        return [name for name, on in (("beam", self.beam > 1), ("lexicon", bool(self.lexicon))) if on]


GREEDY = DecodeOptions()


def model_name(model) -> str:
    """How errors name a model: its file or shipped name (when loaded from one) and architecture."""
    arch = getattr(model, "arch", type(model).__name__)
    source = getattr(model, "source", None)
    return f"{source} ({arch})" if source and source != arch else arch


def check_decode_options(model, options: DecodeOptions) -> None:
    """Raise ``UnsupportedOption`` naming the model when it cannot decode as asked."""
    supported = getattr(model, "decode_options", frozenset())
    missing = [o for o in options.requested() if o not in supported]
    if missing:
        has = ", ".join(f"--{o}" for o in sorted(supported)) or "greedy decoding only"
        raise UnsupportedOption(f"{model_name(model)} does not support {', '.join('--' + o for o in missing)} "
                                f"(it supports: {has})")


class TextTargets(NamedTuple):
    """A batch's labels (strings: the model's tokenizer encodes them), each image's width before
    padding (a CTC loss only aligns text with the frames that hold the image) and, when the recipe
    pads every image with trailing grey, how many columns of each the model reads (image + grey)."""

    texts: list[str]
    widths: list[int]
    read_widths: list[int] | None = None


class RecognitionModel(nn.Module):
    """Base of every recognizer: a cropped word or line image in, its text out."""

    task = "recognition"
    decode_options: frozenset[str] = frozenset()

    def forward(self, images, widths=None, targets: TextTargets | None = None):
        raise NotImplementedError

    def loss(self, outputs, targets: TextTargets) -> dict:
        raise NotImplementedError

    def postprocess(self, outputs, widths=None, options: DecodeOptions = GREEDY) -> list[tuple[str, float]]:
        raise NotImplementedError


class DetectionModel(nn.Module):
    """Base of every detector: an image in, text polygons out."""

    task = "detection"

    def forward(self, images):
        raise NotImplementedError

    def loss(self, outputs, targets) -> dict:
        raise NotImplementedError

    def postprocess(self, outputs, scales=None, image_sizes=None) -> list[list[dict]]:
        raise NotImplementedError


class FullPageModel(nn.Module):
    """Base of every full-page reader: a page image in, its lines in reading order out (no detector)."""

    task = "fullpage"
    decode_options: frozenset[str] = frozenset()

    def forward(self, images, targets: TextTargets | None = None):
        raise NotImplementedError

    def loss(self, outputs, targets: TextTargets) -> dict:
        raise NotImplementedError

    def postprocess(self, outputs, options: DecodeOptions = GREEDY) -> list[list[tuple[str, float]]]:
        raise NotImplementedError
