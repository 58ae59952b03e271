"""A PyTorch model whose forward pass runs in ONNX Runtime.

``OnnxModel(model, onnx_bytes)`` keeps the PyTorch model for everything but the forward pass
(config, tokenizer, ``postprocess``, ``decode_options``, names), so the pipeline drives it through
the same contract (``ocr.models.contract``) and decodes the same way. It serves the models whose
decoding needs PyTorch (CPPD, LISTER); the others run without PyTorch (``ocr.runtime.standalone``).
"""
from __future__ import annotations

import torch

from ocr.runtime.onnx_session import OnnxSession
from ocr.runtime.proxy import ModelProxy


class OnnxModel(ModelProxy):
    """The model's contract with ``__call__`` run by an ONNX Runtime CPU session (outputs as tensors)."""

    backend = "onnxruntime"
    takes_numpy = True

    def __init__(self, model, onnx: OnnxSession | bytes, precision: str = "fp32"):
        super().__init__(model)
        self.precision = precision
        self.session = onnx if isinstance(onnx, OnnxSession) else OnnxSession(onnx)

    def to(self, device):
        if str(device) != "cpu":
            raise ValueError(f"{getattr(self._model, 'source', self._model.arch)}: the onnxruntime backend runs on CPU only")
        return self

    def forward(self, images, widths=None):
        out = self.session.run(images, widths)
        if isinstance(out, dict):
            return {n: torch.from_numpy(o) for n, o in out.items()}
        return torch.from_numpy(out)
