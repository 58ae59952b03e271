"""Feature pyramid network (Lin et al., 2017): lateral 1x1 convs, nearest-neighbour top-down
pathway and a 3x3 smoothing conv per level. Tensor-only, so it exports (TorchScript / ONNX)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class FPN(nn.Module):
    """``forward(feats)`` maps backbone features (shallow -> deep, channels ``in_channels``) to
    as many ``out_channels`` maps of the same sizes."""

    def __init__(self, in_channels: Sequence[int], out_channels: int = 256):
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.lateral = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.smooth = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in in_channels)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(feats) != len(self.lateral):
            raise ValueError(f"FPN expects {len(self.lateral)} features, got {len(feats)}")
        lat = [conv(f) for conv, f in zip(self.lateral, feats)]  # each (B, C_out, H_i, W_i)
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[-2:], mode="nearest")
        return [conv(x) for conv, x in zip(self.smooth, lat)]
