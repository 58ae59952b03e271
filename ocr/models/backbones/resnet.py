"""ImageNet-style ResNet-18/34/50 for detection (features C2-C5 at strides 4/8/16/32).

Trained from scratch: kaiming init, BatchNorm, the last BN of every residual branch starts at
zero (each block is the identity at init), optional 3-conv "deep stem" (ResNet-C).
The residual blocks here are shared with the recognition ResNet (``resnet_str.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import Backbone, FeatureInfo, build_config, init_conv_bn, register_backbone

Stride = int | tuple[int, int]


def conv_bn(cin: int, cout: int, k: int = 3, stride: Stride = 1, act: bool = True) -> nn.Sequential:
    """Conv (no bias) + BN (+ ReLU); 'same' padding for odd ``k``."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _shortcut(cin: int, cout: int, stride: Stride) -> nn.Module:
    """Identity when shapes match, else 1x1 conv + BN (strided)."""
    if stride in (1, (1, 1)) and cin == cout:
        return nn.Identity()
    return conv_bn(cin, cout, k=1, stride=stride, act=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual; ``stride`` may be anisotropic, e.g. (2, 1)."""

    def __init__(self, cin: int, cout: int, stride: Stride = 1):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = conv_bn(cout, cout, 3, 1, act=False)
        self.shortcut = _shortcut(cin, cout, stride)
        self.act = nn.ReLU(inplace=True)

    def last_bn(self) -> nn.BatchNorm2d:
        return self.conv2[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))  # (B, cout, H/s, W/s)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand to ``cout`` (= 4 x the inner width)."""

    expansion = 4

    def __init__(self, cin: int, cout: int, stride: Stride = 1):
        super().__init__()
        mid = cout // self.expansion
        self.conv1 = conv_bn(cin, mid, 1)
        self.conv2 = conv_bn(mid, mid, 3, stride)
        self.conv3 = conv_bn(mid, cout, 1, act=False)
        self.shortcut = _shortcut(cin, cout, stride)
        self.act = nn.ReLU(inplace=True)

    def last_bn(self) -> nn.BatchNorm2d:
        return self.conv3[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv3(self.conv2(self.conv1(x))) + self.shortcut(x))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def make_stage(block: type, cin: int, cout: int, depth: int, stride: Stride) -> nn.Sequential:
    """``depth`` blocks; only the first one changes stride / width."""
    blocks = [block(cin, cout, stride)] + [block(cout, cout, 1) for _ in range(depth - 1)]
    return nn.Sequential(*blocks)


def zero_init_last_bn(module: nn.Module) -> None:
    """Start each residual branch at zero so the block is the identity at init."""
    for m in module.modules():
        if isinstance(m, (BasicBlock, Bottleneck)):
            nn.init.zeros_(m.last_bn().weight)


@dataclass(frozen=True)
class ResNetConfig:
    """Detection ResNet. ``widths`` are stage output channels (x4 already for bottlenecks)."""

    layers: tuple[int, ...] = (2, 2, 2, 2)
    block: str = "basic"  # "basic" | "bottleneck"
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stem_width: int = 64
    deep_stem: bool = False  # three 3x3 convs instead of one 7x7
    in_chans: int = 3
    zero_init_residual: bool = True


class ResNet(Backbone):
    """Stem (stride 4) then 4 stages at strides 4, 8, 16, 32; returns all four (C2..C5)."""

    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        if cfg.block not in BLOCKS:
            raise ValueError(f"unknown block {cfg.block!r}; use one of {sorted(BLOCKS)}")
        if len(cfg.layers) != len(cfg.widths):
            raise ValueError("layers and widths must have the same length")
        self.cfg = cfg
        self.stem = self._make_stem(cfg)
        block, cin = BLOCKS[cfg.block], cfg.stem_width
        stages, self.feature_info = [], []
        for i, (depth, cout) in enumerate(zip(cfg.layers, cfg.widths)):
            stride = 1 if i == 0 else 2
            stages.append(make_stage(block, cin, cout, depth, stride))
            s = 4 * 2**i
            self.feature_info.append(FeatureInfo(f"c{i + 2}", cout, (s, s)))
            cin = cout
        self.stages = nn.ModuleList(stages)
        init_conv_bn(self)
        if cfg.zero_init_residual:
            zero_init_last_bn(self)

    @staticmethod
    def _make_stem(cfg: ResNetConfig) -> nn.Sequential:
        w = cfg.stem_width
        if cfg.deep_stem:
            conv = nn.Sequential(
                conv_bn(cfg.in_chans, w // 2, 3, 2), conv_bn(w // 2, w // 2, 3), conv_bn(w // 2, w, 3)
            )
        else:
            conv = conv_bn(cfg.in_chans, w, 7, 2)
        return nn.Sequential(conv, nn.MaxPool2d(3, 2, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)  # (B, stem, H/4, W/4)
        feats = []
        for stage in self.stages:
            x = stage(x)  # (B, C_i, H/s_i, W/s_i)
            feats.append(x)
        return feats


def _resnet(default: ResNetConfig, kw: dict) -> ResNet:
    return ResNet(build_config(default, kw))


@register_backbone(task="detection")
def resnet18(**kw) -> ResNet:
    """ResNet-18 (basic blocks [2,2,2,2]); C2..C5 = 64/128/256/512 ch at strides 4..32."""
    return _resnet(ResNetConfig(layers=(2, 2, 2, 2)), kw)


@register_backbone(task="detection")
def resnet34(**kw) -> ResNet:
    """ResNet-34 (basic blocks [3,4,6,3]); C2..C5 = 64/128/256/512 ch at strides 4..32."""
    return _resnet(ResNetConfig(layers=(3, 4, 6, 3)), kw)


@register_backbone(task="detection")
def resnet50(**kw) -> ResNet:
    """ResNet-50 (bottlenecks [3,4,6,3]); C2..C5 = 256/512/1024/2048 ch at strides 4..32."""
    cfg = ResNetConfig(layers=(3, 4, 6, 3), block="bottleneck", widths=(256, 512, 1024, 2048))
    return _resnet(cfg, kw)
