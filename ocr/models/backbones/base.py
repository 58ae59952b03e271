"""Backbone registry and the feature contract every backbone honours.

A backbone is an ``nn.Module`` that maps an image batch ``(B, C, H, W)`` to a list of feature
maps, shallow to deep, described one-for-one by ``feature_info``::

    bb = create_backbone("resnet18", in_chans=3)
    feats = bb(x)                       # list[Tensor], len(feats) == len(bb.feature_info)
    bb.feature_info[i].channels         # == feats[i].shape[1]
    bb.feature_info[i].stride           # (height stride, width stride)
    bb.out_channels                     # channels of the last feature

Spatial size rule: feature ``i`` of an ``(H, W)`` input is ``(ceil(H / sh), ceil(W / sw))`` with
``(sh, sw) = feature_info[i].stride``. Recognition backbones collapse height to 1 by default
(``pool_height=True``); their nominal height stride is then ``img_height`` (config field, 32 by
default) and the height of the last feature is 1 for *any* input height.

Families register small factory functions with ``@register_backbone``; a factory takes keyword
overrides of its frozen config dataclass (``in_chans`` included) and returns the module.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ocr.registry import BACKBONES, Entry

__all__ = [
    "FeatureInfo",
    "Backbone",
    "BackboneEntry",
    "register_backbone",
    "create_backbone",
    "list_backbones",
    "backbone_entries",
    "build_config",
    "init_conv_bn",
    "collapse_height",
    "count_params",
]


@dataclass(frozen=True)
class FeatureInfo:
    """One output feature: its name, channel count and (height, width) stride."""

    name: str
    channels: int
    stride: tuple[int, int]

    def out_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size of this feature for an ``(height, width)`` input."""
        return math.ceil(height / self.stride[0]), math.ceil(width / self.stride[1])


class Backbone(nn.Module):
    """Base class: subclasses set ``self.feature_info`` and return one tensor per entry."""

    feature_info: list[FeatureInfo]

    @property
    def out_channels(self) -> int:
        """Channels of the last (deepest) feature."""
        return self.feature_info[-1].channels


BackboneEntry = Entry  # name, task ("detection" | "recognition"), factory, one-line doc


def register_backbone(fn: Callable | None = None, *, task: str | None = None):
    """Register a factory under its function name (in ``ocr.registry.BACKBONES``).

    Usable bare (``@register_backbone``: the task is ``"recognition"`` for names starting with
    ``rec_``, else ``"detection"``) or with an explicit task (``@register_backbone(task=...)``).
    """

    def wrap(f: Callable) -> Callable:
        return BACKBONES.register(f, task or ("recognition" if f.__name__.startswith("rec_") else "detection"))

    return wrap(fn) if fn is not None else wrap


def create_backbone(name: str, in_chans: int = 3, **overrides) -> Backbone:
    """Build a registered backbone; ``overrides`` replace fields of its config dataclass."""
    return BACKBONES.get(name).factory(in_chans=in_chans, **overrides)


def list_backbones(task: str | None = None) -> list[str]:
    """Sorted names of registered backbones, optionally only those of one task."""
    return [e.name for e in BACKBONES.entries(task)]


def backbone_entries(task: str | None = None) -> list[BackboneEntry]:
    """Registry entries (name, task, factory, one-line doc), sorted by name."""
    return BACKBONES.entries(task)


def _freeze(value):
    """Lists (e.g. from YAML) become tuples, recursively, so configs stay hashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def build_config(default, overrides: dict):
    """``dataclasses.replace`` with list->tuple coercion and a helpful error on unknown keys."""
    fields = {f.name for f in dataclasses.fields(default)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise TypeError(
            f"{type(default).__name__} has no field(s) {unknown}; valid: {sorted(fields)}"
        )
    return dataclasses.replace(default, **{k: _freeze(v) for k, v in overrides.items()})


def init_conv_bn(module: nn.Module) -> None:
    """Kaiming-normal (fan_out) convs, unit/zero BN, small-normal linears: trains from scratch."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def collapse_height(x: torch.Tensor, mode: str = "mean") -> torch.Tensor:
    """(B, C, H, W) -> (B, C, 1, W) by mean or max over height."""
    if mode == "mean":
        return x.mean(dim=2, keepdim=True)
    if mode == "max":
        return x.amax(dim=2, keepdim=True)
    raise ValueError(f"unknown height pooling {mode!r}; use 'mean' or 'max'")


def count_params(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
