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

from typing import NamedTuple

import torch.nn as nn

from ocr.models.decoding import (  # noqa: F401 - the contract's decoding half, re-exported
    DECODE_OPTIONS, GREEDY, DecodeOptions, UnsupportedOption, check_decode_options, model_name)


class TextTargets(NamedTuple):
    """A batch's labels (strings: the model's tokenizer encodes them), each image's width before
    padding (a CTC loss only aligns text with the frames that hold the image) and, when the recipe
    pads every image with trailing grey, how many columns of each the model reads (image + grey);
    ``caseless``: which labels come from a store whose labels tell no case (see
    ``ocr.models.recognition.caseless``)."""

    texts: list[str]
    widths: list[int]
    read_widths: list[int] | None = None
    caseless: list[bool] | None = None


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
