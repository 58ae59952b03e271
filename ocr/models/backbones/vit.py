"""SVTR-style vision transformer for recognition (Du et al., 2022), small enough for CPU.

Layout for a (B, 3, 32, W) input with the default (SVTR-Tiny-like) config::

    patch embed: 2 x (3x3 conv stride 2, BN, GELU)       (B, 64,  8, W/4)
    stage1: 3 local blocks                                (B, 64,  8, W/4)
    merge: 3x3 conv stride (2, 1) + LN                    (B, 128, 4, W/4)
    stage2: 3 local + 3 global blocks                     (B, 128, 4, W/4)
    merge                                                 (B, 256, 2, W/4)
    stage3: 3 global blocks                               (B, 256, 2, W/4)
    LN, mean over height, 1x1 conv -> 192, hardswish      (B, 192, 1, W/4)

Local mixing is a depthwise conv (as in SVTR's conv mixer); global mixing is multi-head
self-attention over all H' x W' tokens through ``ocr.ops.attention`` (head dim 32). Positions
come from a depthwise-conv positional encoding at the start of each stage (no fixed-size
learned table), so any width works. Blocks are pre-norm with stochastic depth.
``pool_height=False`` keeps height ``ceil(H/16)`` (stride (16, 4)); otherwise the reported
stride is ``(img_height, 4)`` and the output height is 1 for any input height.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import Backbone, FeatureInfo, build_config, collapse_height, init_conv_bn, register_backbone

HW = tuple[int, int]


def _attention(q, k, v):
    """Imported lazily so the registry still loads if ``ocr.ops`` is unavailable."""
    from ocr.ops import attention

    return attention(q, k, v)


def to_map(x: torch.Tensor, hw: HW) -> torch.Tensor:
    """(B, L, C) tokens -> (B, C, H, W) map."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], hw[0], hw[1])


def to_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) map -> (B, H*W, C) tokens."""
    return x.flatten(2).transpose(1, 2)


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class LocalMixer(nn.Module):
    """Depthwise kxk conv over the token grid (local character-stroke mixing)."""

    def __init__(self, dim: int, kernel: HW):
        super().__init__()
        pad = (kernel[0] // 2, kernel[1] // 2)
        self.conv = nn.Conv2d(dim, dim, kernel, padding=pad, groups=dim)

    def forward(self, x: torch.Tensor, hw: HW) -> torch.Tensor:
        return to_tokens(self.conv(to_map(x, hw)))  # (B, L, C)


class GlobalMixer(nn.Module):
    """Multi-head self-attention over all tokens via ``ocr.ops.attention``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} not divisible by heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, hw: HW) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = _attention(qkv[0], qkv[1], qkv[2])  # (B, heads, L, Dh)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))  # (B, L, C)


class Block(nn.Module):
    """Pre-norm transformer block: x + mixer(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mixer: str, kernel: HW, mlp_ratio: float, drop_path: float):
        super().__init__()
        if mixer not in ("local", "global"):
            raise ValueError(f"unknown mixer {mixer!r}; use 'local' or 'global'")
        self.norm1 = nn.LayerNorm(dim)
        self.mixer = LocalMixer(dim, kernel) if mixer == "local" else GlobalMixer(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, hw: HW) -> torch.Tensor:
        x = x + self.drop_path(self.mixer(self.norm1(x), hw))
        return x + self.drop_path(self.mlp(self.norm2(x)))  # (B, L, C)


class PosConv(nn.Module):
    """Conditional positional encoding: x + depthwise 3x3 conv(x) on the token grid."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)  # (B, C, H, W)


class Stage(nn.Module):
    """[merge (3x3 conv, stride (2, 1)) + LN] -> positional conv -> blocks."""

    def __init__(self, cin: int, dim: int, blocks: list[Block], merge: bool):
        super().__init__()
        self.merge = nn.Conv2d(cin, dim, 3, (2, 1), 1) if merge else None
        self.merge_norm = nn.LayerNorm(dim) if merge else nn.Identity()
        self.pos = PosConv(dim)
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.merge is not None:
            x = self.merge(x)  # (B, dim, H/2, W)
            x = self.merge_norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.pos(x)
        hw = (x.shape[2], x.shape[3])
        t = to_tokens(x)  # (B, H*W, dim)
        for blk in self.blocks:
            t = blk(t, hw)
        return to_map(t, hw)  # (B, dim, H, W)


@dataclass(frozen=True)
class SVTRConfig:
    """SVTR config; ``mixers`` has one entry ("local"/"global") per block over all stages."""

    dims: tuple[int, ...] = (64, 128, 256)
    depths: tuple[int, ...] = (3, 6, 3)
    heads: tuple[int, ...] = (2, 4, 8)
    mixers: tuple[str, ...] = ("local",) * 6 + ("global",) * 6
    local_kernel: tuple[int, int] = (5, 7)
    mlp_ratio: float = 4.0
    drop_path_rate: float = 0.1
    out_dim: int = 192  # final 1x1 projection; 0 keeps dims[-1]
    out_dropout: float = 0.1
    in_chans: int = 3
    img_height: int = 32
    pool_height: bool = True


class SVTR(Backbone):
    """Patch embed (stride 4) + stages with (2, 1) merges; one output feature."""

    def __init__(self, cfg: SVTRConfig):
        super().__init__()
        if not len(cfg.dims) == len(cfg.depths) == len(cfg.heads):
            raise ValueError("dims, depths and heads must have the same length")
        if len(cfg.mixers) != sum(cfg.depths):
            raise ValueError(f"need {sum(cfg.depths)} mixers, got {len(cfg.mixers)}")
        self.cfg = cfg
        d0 = cfg.dims[0]
        self.patch_embed = nn.Sequential(
            nn.Conv2d(cfg.in_chans, d0 // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(d0 // 2), nn.GELU(),
            nn.Conv2d(d0 // 2, d0, 3, 2, 1, bias=False), nn.BatchNorm2d(d0), nn.GELU(),
        )
        self.stages = nn.Sequential(*self._make_stages(cfg))
        self.norm = nn.LayerNorm(cfg.dims[-1])
        out = cfg.out_dim or cfg.dims[-1]
        self.head = nn.Identity() if not cfg.out_dim else nn.Sequential(
            nn.Conv2d(cfg.dims[-1], out, 1, bias=False), nn.Hardswish(), nn.Dropout(cfg.out_dropout)
        )
        sh = 4 * 2 ** (len(cfg.dims) - 1)
        self.feature_info = [FeatureInfo("out", out, (cfg.img_height, 4) if cfg.pool_height else (sh, 4))]
        init_conv_bn(self)

    @staticmethod
    def _make_stages(cfg: SVTRConfig) -> list[Stage]:
        total = sum(cfg.depths)
        rates = [cfg.drop_path_rate * i / max(1, total - 1) for i in range(total)]
        stages, start, cin = [], 0, cfg.dims[0]
        for i, (dim, depth, heads) in enumerate(zip(cfg.dims, cfg.depths, cfg.heads)):
            blocks = [
                Block(dim, heads, cfg.mixers[j], tuple(cfg.local_kernel), cfg.mlp_ratio, rates[j])
                for j in range(start, start + depth)
            ]
            stages.append(Stage(cin, dim, blocks, merge=i > 0))
            start, cin = start + depth, dim
        return stages

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)  # (B, d0, H/4, W/4)
        x = self.stages(x)  # (B, d_last, H/16, W/4)
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        if self.cfg.pool_height:
            x = collapse_height(x, "mean")  # (B, d_last, 1, W/4)
        return [self.head(x)]  # (B, out_dim, 1, W/4)


@register_backbone(task="recognition")
def rec_svtr_tiny(**kw) -> SVTR:
    """SVTR-Tiny-like (dims 64/128/256, depths 3/6/3, head dim 32, ~4M params); out 192 ch."""
    return SVTR(build_config(SVTRConfig(), kw))
