"""Multi-head attention for the transformer models, through ``ocr.ops.attention`` (the Triton
kernel on GPU, PyTorch SDPA elsewhere)."""
from __future__ import annotations

import torch
import torch.nn as nn

from ocr.ops import attention


class Attention(nn.Module):
    """Multi-head attention; ``kv`` precomputed (cross-attention) or cached (self-attention)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.q, self.k, self.v, self.out = heads, *(nn.Linear(dim, dim) for _ in range(4))

    def split(self, x: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        return x.view(B, L, self.heads, D // self.heads).transpose(1, 2)  # (B, h, L, d)

    def keys(self, mem: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split(self.k(mem)), self.split(self.v(mem))

    def forward(self, x, kv, causal: bool = False, pad=None) -> torch.Tensor:
        o = attention(self.split(self.q(x)), *kv, causal=causal, key_padding_mask=pad)
        return self.out(o.transpose(1, 2).reshape(x.shape))
