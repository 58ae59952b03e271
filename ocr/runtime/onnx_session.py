"""An ONNX Runtime CPU session over an exported model (``ocr.runtime.onnx_export``): numpy in,
numpy out, and the metadata the export wrote. No PyTorch."""
from __future__ import annotations

import json
import os
import sys

import numpy as np

OPSET = 17  # the ONNX opset ``onnx_export`` writes (part of the cache key: no PyTorch needed to read it)
EXPORT = 2  # bumped when ``onnx_export``'s graphs change (2: LISTER's aligner a Loop), so cached files are rebuilt


def default_threads() -> int:
    """Intra-op threads: PyTorch's count when PyTorch is loaded (a user may have set it), else
    ``OMP_NUM_THREADS`` when set, else the physical cores this process may run on (PyTorch's
    default). Never 0: ONNX Runtime would then pin one thread to each core of the machine, and
    processes side by side (``ocr batch`` actors) would share the same cores."""
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return physical_cores()


def physical_cores() -> int:
    """Distinct physical cores among the CPUs this process may run on (all of them where Linux's
    CPU topology cannot be read)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        topology = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topology + "physical_package_id") as a, open(topology + "core_id") as b:
                cores.add((a.read().strip(), b.read().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))


def limit_threads(n: int) -> None:
    """CPU threads of both runtimes from now on: ONNX Runtime sessions opened later, and PyTorch's
    (now when loaded, else when it loads: it reads ``OMP_NUM_THREADS``)."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def session_options(threads: int | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = default_threads() if threads is None else threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The arena keeps the buffers of one run for the next. Without it, every buffer past glibc's
    # mmap threshold (32 MB: the detector's stride-2 maps are 90 MB at 1600 px) is mapped afresh and
    # its pages faulted in and zeroed on each run: the detector took 197 instead of 130 ms on a
    # 1600x896 receipt. Reading 150 receipts, resident memory holds at the arena's size (flat within
    # 3%) and the peak was lower with it (566 against 669 MB): ``tools/bench_memory.py``.
    so.enable_cpu_mem_arena = True
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
