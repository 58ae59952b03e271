"""What the pipeline needs to run a model of any backend on numpy batches: ONNX Runtime models
(``takes_numpy``) take the arrays and need no PyTorch; PyTorch models take tensors on their device
and run, postprocessing included, in inference mode."""
from __future__ import annotations

import contextlib


def inference(model):
    """The context a model reads in: ``torch.inference_mode()`` for a PyTorch model, nothing (and
    no PyTorch import) for an ONNX Runtime one."""
    if getattr(model, "takes_numpy", False):
        return contextlib.nullcontext()
    import torch

    return torch.inference_mode()


def as_input(model, images, device: str = "cpu"):
    """A numpy batch as ``model`` takes it: as it is, or as a tensor on ``device``."""
    if getattr(model, "takes_numpy", False):
        return images
    import torch

    return torch.from_numpy(images).to(device)
