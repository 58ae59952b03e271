"""A PyTorch model whose forward pass runs under bf16 autocast (the ``torch``/``bf16`` backend)."""
from __future__ import annotations

import torch

from ocr.runtime.proxy import ModelProxy


class AutocastModel(ModelProxy):
    """The model's contract with ``__call__`` under ``torch.autocast(bfloat16)``; outputs in fp32."""

    precision = "bf16"

    def forward(self, images: torch.Tensor, **kwargs):
        device = images.device.type
        with torch.autocast(device, dtype=torch.bfloat16):
            out = self._model(images, **kwargs)
        if isinstance(out, dict):
            return {k: v.float() for k, v in out.items()}
        return out.float()
