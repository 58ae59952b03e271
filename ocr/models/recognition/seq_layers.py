"""Parts shared by the transformer recognizers (CPPD, LISTER): a pre-norm layer and the padding
mask of a batch of crops read to different widths."""
from __future__ import annotations

import torch
import torch.nn as nn

from ocr.models.attention import Attention


class Layer(nn.Module):
    """Pre-norm transformer layer: self-attention, optional cross-attention to a memory, MLP.

    Queries of batch 1 before a memory of batch B (learned queries, the same for every crop) run
    their self-attention once and are expanded to the memory's batch for the cross-attention."""

    def __init__(self, dim: int, heads: int, dropout: float, cross: bool):
        super().__init__()
        self.n1, self.self_attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.cross = cross
        if cross:
            self.n2, self.nm, self.cross_attn = nn.LayerNorm(dim), nn.LayerNorm(dim), Attention(dim, heads)
        self.n3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, self_pad=None, mem=None, mem_pad=None):
        y = self.n1(x)
        x = x + self.drop(self.self_attn(y, self.self_attn.keys(y), pad=self_pad))
        if self.cross:
            x = x.expand(mem.shape[0], -1, -1) if x.shape[0] == 1 else x
            x = x + self.drop(self.cross_attn(self.n2(x), self.cross_attn.keys(self.nm(mem)), pad=mem_pad))
        return x + self.drop(self.mlp(self.n3(x)))


def padding_mask(widths, batch: int, frames: int, stride: int, device) -> torch.Tensor:
    """(B, T) bool, True = a padded column: image b reads ceil(widths[b] / stride) of the
    ``frames`` feature columns (``None``: all). A list gives T = the widest read (columns no image
    reads are left out); an int64 tensor (the ONNX export's input) gives T = ``frames``."""
    if torch.is_tensor(widths):
        read, cols = torch.clamp((widths + stride - 1) // stride, max=frames), frames
    else:
        read = [frames if w is None else min(frames, -(-int(w) // stride)) for w in (widths or [None] * batch)]
        cols, read = max(read), torch.tensor(read)
    return torch.arange(cols, device=device)[None, :] >= read.to(device)[:, None]
