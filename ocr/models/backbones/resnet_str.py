"""Scene-text-recognition ResNet (ASTER / ResNet-34-like) with late (2, 1) strides.

Layout for a (B, 3, 32, W) input with the default config::

    stem   3x3 conv, stride 1                (B, 32,  32, W)
    stage1 3 basic blocks, stride (2, 2)     (B, 64,  16, W/2)
    stage2 4 basic blocks, stride (2, 2)     (B, 128,  8, W/4)
    stage3 6 basic blocks, stride (2, 1)     (B, 256,  4, W/4)
    stage4 3 basic blocks, stride (2, 1)     (B, 512,  2, W/4)
    height mean-pool (pool_height=True)      (B, 512,  1, W/4)

Width stride 4 (a 128-px word -> 32 timesteps). With ``pool_height=True`` (default) the output
height is 1 for any input height (48 and 64 work too) and ``feature_info`` reports the nominal
stride ``(img_height, 4)``; with ``pool_height=False`` the map keeps height ``ceil(H/16)``
(stride (16, 4)) for 2-D attention decoders.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import Backbone, FeatureInfo, build_config, collapse_height, init_conv_bn, register_backbone
from .resnet import BasicBlock, conv_bn, make_stage, zero_init_last_bn


@dataclass(frozen=True)
class RecResNetConfig:
    """STR ResNet config; ``strides`` are per-stage (height, width) strides."""

    layers: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    strides: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (2, 1), (2, 1))
    stem_width: int = 32
    in_chans: int = 3
    img_height: int = 32  # nominal input height: the reported height stride when pooled
    pool_height: bool = True
    zero_init_residual: bool = True


class RecResNet(Backbone):
    """Basic-block ResNet whose last feature has height 1 (pooled) and width stride 4."""

    def __init__(self, cfg: RecResNetConfig):
        super().__init__()
        if not len(cfg.layers) == len(cfg.widths) == len(cfg.strides):
            raise ValueError("layers, widths and strides must have the same length")
        self.cfg = cfg
        self.stem = conv_bn(cfg.in_chans, cfg.stem_width, 3, 1)
        cin, stages = cfg.stem_width, []
        for depth, cout, stride in zip(cfg.layers, cfg.widths, cfg.strides):
            stages.append(make_stage(BasicBlock, cin, cout, depth, tuple(stride)))
            cin = cout
        self.stages = nn.Sequential(*stages)
        sh = math.prod(s[0] for s in cfg.strides)
        sw = math.prod(s[1] for s in cfg.strides)
        stride = (cfg.img_height, sw) if cfg.pool_height else (sh, sw)
        self.feature_info = [FeatureInfo("out", cin, stride)]
        init_conv_bn(self)
        if cfg.zero_init_residual:
            zero_init_last_bn(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stages(self.stem(x))  # (B, C, H/16, W/4)
        if self.cfg.pool_height:
            x = collapse_height(x, "mean")  # (B, C, 1, W/4)
        return [x]


@register_backbone(task="recognition")
def rec_resnet(**kw) -> RecResNet:
    """STR ResNet-34-like ([3,4,6,3], widths 64-512, ~21M params); out 512 ch, H'=1, W/4."""
    return RecResNet(build_config(RecResNetConfig(), kw))


@register_backbone(task="recognition")
def rec_resnet_small(**kw) -> RecResNet:
    """STR ResNet with halved widths (32-256, ~5M params) for CPU training; out 256 ch."""
    cfg = RecResNetConfig(widths=(32, 64, 128, 256), stem_width=32)
    return RecResNet(build_config(cfg, kw))


@register_backbone(task="recognition")
def rec_resnet_lite(**kw) -> RecResNet:
    """rec_resnet_small with fewer deep blocks ([3, 4, 3, 2]: the last three of stage 3 and the last
    of stage 4 dropped, ~3.2M params), so that a fine-tune can start from rec_resnet_small's weights
    (the kept blocks have the same names). About a third fewer multiply-adds per column."""
    cfg = RecResNetConfig(layers=(3, 4, 3, 2), widths=(32, 64, 128, 256), stem_width=32)
    return RecResNet(build_config(cfg, kw))
