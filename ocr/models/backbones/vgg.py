"""CRNN-style VGG for recognition (Shi et al., 2015), with BatchNorm after every conv.

Layout for a (B, 3, 32, W) input with the default config::

    conv64            pool (2, 2)   (B, 64,  16, W/2)
    conv128           pool (2, 2)   (B, 128,  8, W/4)
    conv256 conv256   pool (2, 1)   (B, 256,  4, W/4)
    conv512 conv512   pool (2, 1)   (B, 512,  2, W/4)
    conv512                         (B, 512,  2, W/4)
    height mean-pool                (B, 512,  1, W/4)

The original's last 2x2 "valid" conv only fits 32-high inputs; here it is a 3x3 conv followed by
a mean over height, so 48- and 64-high inputs also give height 1. Pools use ``ceil_mode`` so any
width gives ``ceil(W/4)`` steps. ~6.9M parameters. ``pool_height=False`` keeps height
``ceil(H/16)`` (stride (16, 4)); otherwise the reported stride is ``(img_height, 4)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import Backbone, FeatureInfo, build_config, collapse_height, init_conv_bn, register_backbone
from .resnet import conv_bn


@dataclass(frozen=True)
class VGGConfig:
    """``stages[i]`` lists conv widths of block i; ``pools[i]`` its (h, w) max-pool ((1, 1) = none)."""

    stages: tuple[tuple[int, ...], ...] = ((64,), (128,), (256, 256), (512, 512), (512,))
    pools: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (2, 1), (2, 1), (1, 1))
    in_chans: int = 3
    img_height: int = 32
    pool_height: bool = True


class VGG(Backbone):
    """Plain conv-BN-ReLU stacks with max-pools; one output feature (height 1 when pooled)."""

    def __init__(self, cfg: VGGConfig):
        super().__init__()
        if len(cfg.stages) != len(cfg.pools):
            raise ValueError("stages and pools must have the same length")
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin = cfg.in_chans
        for widths, pool in zip(cfg.stages, cfg.pools):
            for cout in widths:
                layers.append(conv_bn(cin, cout, 3))
                cin = cout
            if tuple(pool) != (1, 1):
                layers.append(nn.MaxPool2d(tuple(pool), tuple(pool), ceil_mode=True))
        self.body = nn.Sequential(*layers)
        sh = math.prod(p[0] for p in cfg.pools)
        sw = math.prod(p[1] for p in cfg.pools)
        stride = (cfg.img_height, sw) if cfg.pool_height else (sh, sw)
        self.feature_info = [FeatureInfo("out", cin, stride)]
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.body(x)  # (B, 512, H/16, W/4)
        if self.cfg.pool_height:
            x = collapse_height(x, "mean")  # (B, 512, 1, W/4)
        return [x]


@register_backbone(task="recognition")
def rec_vgg(**kw) -> VGG:
    """CRNN VGG with BN (~6.9M params); out 512 ch, height 1, width stride 4."""
    return VGG(build_config(VGGConfig(), kw))
