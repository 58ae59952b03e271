"""A detection or recognition model whose forward pass runs in ONNX Runtime.

``OnnxModel(model, onnx_bytes)`` keeps the PyTorch model for everything but the forward pass
(config, tokenizer, ``postprocess``, ``decode_options``, names), so the pipeline drives it through
the same contract (``ocr.models.contract``) and decodes the same way.
"""
from __future__ import annotations

import json

import numpy as np
import torch

from ocr.runtime.proxy import ModelProxy


def session_options(threads: int | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Shapes change with every page and batch: an arena sized for the largest keeps it. Without
    # it, 10 receipts peaked at 0.70 GB instead of 0.82 GB, in the same time.
    so.enable_cpu_mem_arena = False
    so.enable_mem_pattern = False
    return so


class OnnxModel(ModelProxy):
    """The model's contract with ``__call__`` run by an ONNX Runtime CPU session."""

    backend = "onnxruntime"

    def __init__(self, model, onnx_bytes: bytes, precision: str = "fp32", threads: int | None = None):
        import onnxruntime as ort

        super().__init__(model)
        self.precision = precision
        self.session = ort.InferenceSession(onnx_bytes, session_options(threads), providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.output_names = json.loads(meta.get("outputs", '["logits"]'))
        self.input_names = [i.name for i in self.session.get_inputs()]

    def to(self, device):
        if str(device) != "cpu":
            raise ValueError(f"{getattr(self._model, 'source', self._model.arch)}: the onnxruntime backend runs on CPU only")
        return self

    def forward(self, images: torch.Tensor, widths=None):
        feed = {"images": images.detach().float().cpu().numpy()}
        if "widths" in self.input_names:
            cols = images.shape[3]
            feed["widths"] = np.asarray([cols if w is None else int(w) for w in (widths or [None] * len(images))], np.int64)
        outs = self.session.run(self.output_names, feed)
        tensors = {n: torch.from_numpy(o) for n, o in zip(self.output_names, outs)}
        if self.output_names == ["logits"]:
            return tensors["logits"]
        return tensors
