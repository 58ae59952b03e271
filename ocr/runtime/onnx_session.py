"""An ONNX Runtime CPU session over an exported model (``ocr.runtime.onnx_export``): numpy in,
numpy out, and the metadata the export wrote. No PyTorch."""
from __future__ import annotations

import json
import os
import sys

import numpy as np

OPSET = 17  # the ONNX opset ``onnx_export`` writes (part of the cache key: no PyTorch needed to read it)


def default_threads() -> int:
    """Intra-op threads: PyTorch's count when PyTorch is loaded (a user may have set it),
    ``OMP_NUM_THREADS`` when set, else 0 (ONNX Runtime's default: one per physical core, as
    PyTorch's default)."""
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    try:
        return max(0, int(os.environ.get("OMP_NUM_THREADS", "0")))
    except ValueError:
        return 0


def session_options(threads: int | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = default_threads() if threads is None else threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Shapes change with every page and batch: an arena sized for the largest keeps it. Without
    # it, 10 receipts peaked at 0.70 GB instead of 0.82 GB, in the same time.
    so.enable_cpu_mem_arena = False
    so.enable_mem_pattern = False
    return so


class OnnxSession:
    """``run(images, widths)`` -> the model's outputs as numpy arrays: the ``logits`` array alone,
    or a dict by output name; ``metadata``: the file's metadata (``arch``, ``config``, ``outputs``,
    and ``runtime`` for models that decode without PyTorch)."""

    def __init__(self, onnx_bytes: bytes, threads: int | None = None):
        import onnxruntime as ort

        self.session = ort.InferenceSession(onnx_bytes, session_options(threads), providers=["CPUExecutionProvider"])
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.output_names = json.loads(self.metadata.get("outputs", '["logits"]'))
        self.input_names = [i.name for i in self.session.get_inputs()]

    def run(self, images, widths=None):
        if hasattr(images, "detach"):  # a PyTorch tensor
            images = images.detach().float().cpu().numpy()
        images = np.asarray(images, np.float32)
        feed = {"images": images}
        if "widths" in self.input_names:
            cols = images.shape[3]
            feed["widths"] = np.asarray([cols if w is None else int(w) for w in (widths or [None] * len(images))], np.int64)
        outs = self.session.run(self.output_names, feed)
        if self.output_names == ["logits"]:
            return outs[0]
        return dict(zip(self.output_names, outs))
