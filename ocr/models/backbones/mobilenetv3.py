"""MobileNetV3 (Howard et al., 2019) for detection and PP-OCR-style recognition.

Detection (``mobilenetv3_large`` / ``mobilenetv3_small``): four features at strides 4/8/16/32;
the last one includes the final 1x1 expansion conv (960 / 576 channels at scale 1.0).

Recognition (``rec_mobilenetv3``, ``rec_mobilenetv3_small``): the detection strides 2 become
(2, 1) so the width is only halved by the stem, giving after the blocks (B, C, H/16, W/2); a
(1, 2) max-pool then brings the width stride to 4 and a max over height gives height 1 (for a
32-high input this equals PP-OCR's final 2x2 max-pool). The reported stride is
``(img_height, 4)``, or ``(16, 4)`` with ``pool_height=False``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import Backbone, FeatureInfo, build_config, collapse_height, init_conv_bn, register_backbone

R = (2, 1)  # recognition stride: halve height only
# kernel, expansion, out, SE, activation, detection stride, recognition stride
LARGE = (
    (3, 16, 16, False, "relu", 1, 1),
    (3, 64, 24, False, "relu", 2, R),
    (3, 72, 24, False, "relu", 1, 1),
    (5, 72, 40, True, "relu", 2, R),
    (5, 120, 40, True, "relu", 1, 1),
    (5, 120, 40, True, "relu", 1, 1),
    (3, 240, 80, False, "hswish", 2, 1),
    (3, 200, 80, False, "hswish", 1, 1),
    (3, 184, 80, False, "hswish", 1, 1),
    (3, 184, 80, False, "hswish", 1, 1),
    (3, 480, 112, True, "hswish", 1, 1),
    (3, 672, 112, True, "hswish", 1, 1),
    (5, 672, 160, True, "hswish", 2, R),
    (5, 960, 160, True, "hswish", 1, 1),
    (5, 960, 160, True, "hswish", 1, 1),
)
SMALL = (
    (3, 16, 16, True, "relu", 2, 1),
    (3, 72, 24, False, "relu", 2, R),
    (3, 88, 24, False, "relu", 1, 1),
    (5, 96, 40, True, "hswish", 2, R),
    (5, 240, 40, True, "hswish", 1, 1),
    (5, 240, 40, True, "hswish", 1, 1),
    (5, 120, 48, True, "hswish", 1, 1),
    (5, 144, 48, True, "hswish", 1, 1),
    (5, 288, 96, True, "hswish", 2, R),
    (5, 576, 96, True, "hswish", 1, 1),
    (5, 576, 96, True, "hswish", 1, 1),
)
ARCHS = {"large": (LARGE, 960), "small": (SMALL, 576)}  # block table, last 1x1 conv width


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round to a multiple of ``divisor`` without dropping more than 10%."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _act(name: str) -> nn.Module:
    return nn.Hardswish(inplace=True) if name == "hswish" else nn.ReLU(inplace=True)


def conv_bn_act(cin: int, cout: int, k: int, stride=1, groups: int = 1, act: str | None = "relu"):
    """Conv (no bias) + BN (+ activation)."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(_act(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention: global pool -> reduce x4 -> ReLU -> expand -> hard-sigmoid gate."""

    def __init__(self, channels: int):
        super().__init__()
        mid = make_divisible(channels / 4)
        self.reduce = nn.Conv2d(channels, mid, 1)
        self.expand = nn.Conv2d(mid, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)  # (B, C, 1, 1)
        s = self.expand(F.relu(self.reduce(s), inplace=True))
        return x * F.hardsigmoid(s)


class InvertedResidual(nn.Module):
    """1x1 expand -> kxk depthwise (strided) -> [SE] -> 1x1 project; residual when shapes match."""

    def __init__(self, cin: int, exp: int, cout: int, k: int, stride, se: bool, act: str):
        super().__init__()
        self.use_res = stride in (1, (1, 1)) and cin == cout
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(conv_bn_act(cin, exp, 1, act=act))
        layers.append(conv_bn_act(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(SqueezeExcite(exp))
        layers.append(conv_bn_act(exp, cout, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_res else y


@dataclass(frozen=True)
class MobileNetV3Config:
    """``arch`` is "large" or "small"; ``scale`` multiplies all widths (PP-OCR style)."""

    arch: str = "large"
    scale: float = 1.0
    in_chans: int = 3
    use_se: bool = True
    img_height: int = 32  # recognition only: nominal height stride when pooled
    pool_height: bool = True  # recognition only


def _blocks(cfg: MobileNetV3Config, rec: bool) -> tuple[list[nn.Module], list, int, int]:
    """Build the stem's width, the blocks, their strides and the last conv width."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown MobileNetV3 arch {cfg.arch!r}; use one of {sorted(ARCHS)}")
    table, last = ARCHS[cfg.arch]
    cin = make_divisible(16 * cfg.scale)
    blocks, strides = [], []
    for k, exp, out, se, act, det_s, rec_s in table:
        s = rec_s if rec else det_s
        e, o = make_divisible(exp * cfg.scale), make_divisible(out * cfg.scale)
        blocks.append(InvertedResidual(cin, e, o, k, s, se and cfg.use_se, act))
        strides.append(s)
        cin = o
    return blocks, strides, cin, make_divisible(last * cfg.scale)


def _zero_init_residuals(module: nn.Module) -> None:
    """Zero the projecting BN of residual blocks so each starts as the identity."""
    for m in module.modules():
        if isinstance(m, InvertedResidual) and m.use_res:
            nn.init.zeros_(m.block[-1][1].weight)


class MobileNetV3Det(Backbone):
    """Features C2..C5 at strides 4/8/16/32 (C5 includes the final 1x1 conv)."""

    def __init__(self, cfg: MobileNetV3Config):
        super().__init__()
        self.cfg = cfg
        self.stem = conv_bn_act(cfg.in_chans, make_divisible(16 * cfg.scale), 3, 2, act="hswish")
        blocks, strides, cin, last = _blocks(cfg, rec=False)
        groups: list[list[nn.Module]] = [[], [], [], []]
        cum, chans = 2, [0, 0, 0, 0]
        for block, s in zip(blocks, strides):
            cum *= s
            idx = max(0, cum.bit_length() - 3)  # stride 2 or 4 -> 0, 8 -> 1, 16 -> 2, 32 -> 3
            groups[idx].append(block)
            chans[idx] = block.block[-1][0].out_channels
        groups[3].append(conv_bn_act(cin, last, 1, act="hswish"))
        chans[3] = last
        self.stages = nn.ModuleList(nn.Sequential(*g) for g in groups)
        self.feature_info = [FeatureInfo(f"c{i + 2}", c, (4 * 2**i,) * 2) for i, c in enumerate(chans)]
        init_conv_bn(self)
        _zero_init_residuals(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)  # (B, 16s, H/2, W/2)
        feats = []
        for stage in self.stages:
            x = stage(x)  # (B, C_i, H/s_i, W/s_i)
            feats.append(x)
        return feats


class MobileNetV3Rec(Backbone):
    """PP-OCR-style recognition trunk: height stride 16 in the blocks, width stride 4 overall."""

    def __init__(self, cfg: MobileNetV3Config):
        super().__init__()
        self.cfg = cfg
        self.stem = conv_bn_act(cfg.in_chans, make_divisible(16 * cfg.scale), 3, 2, act="hswish")
        blocks, _, cin, last = _blocks(cfg, rec=True)
        self.blocks = nn.Sequential(*blocks)
        self.last_conv = conv_bn_act(cin, last, 1, act="hswish")
        stride = (cfg.img_height, 4) if cfg.pool_height else (16, 4)
        self.feature_info = [FeatureInfo("out", last, stride)]
        init_conv_bn(self)
        _zero_init_residuals(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.blocks(self.stem(x))  # (B, C, H/16, W/2)
        x = self.last_conv(x)
        x = F.max_pool2d(x, (1, 2), (1, 2), ceil_mode=True)  # (B, C, H/16, W/4)
        if self.cfg.pool_height:
            x = collapse_height(x, "max")  # (B, C, 1, W/4)
        return [x]


@register_backbone(task="detection")
def mobilenetv3_large(**kw) -> MobileNetV3Det:
    """MobileNetV3-Large x1.0; C2..C5 = 24/40/112/960 ch at strides 4..32."""
    return MobileNetV3Det(build_config(MobileNetV3Config(arch="large"), kw))


@register_backbone(task="detection")
def mobilenetv3_small(**kw) -> MobileNetV3Det:
    """MobileNetV3-Small x1.0; C2..C5 = 16/24/48/576 ch at strides 4..32."""
    return MobileNetV3Det(build_config(MobileNetV3Config(arch="small"), kw))


@register_backbone(task="recognition")
def rec_mobilenetv3(**kw) -> MobileNetV3Rec:
    """PP-OCR-style MobileNetV3-Large x0.75 for recognition (~1.7M params); out 720 ch, H'=1, W/4."""
    return MobileNetV3Rec(build_config(MobileNetV3Config(arch="large", scale=0.75), kw))


@register_backbone(task="recognition")
def rec_mobilenetv3_small(**kw) -> MobileNetV3Rec:
    """PP-OCR-style MobileNetV3-Small x1.0 for recognition (~0.9M params); out 576 ch, H'=1, W/4."""
    return MobileNetV3Rec(build_config(MobileNetV3Config(arch="small", scale=1.0), kw))
