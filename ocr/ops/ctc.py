"""CTC loss op: the Triton kernel on CUDA when usable, ``torch.nn.functional.ctc_loss`` else."""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F

from ocr.ops import dispatch

__all__ = ["ctc_loss", "ctc_loss_reference"]

Lengths = Union[torch.Tensor, Sequence[int]]
_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_MAX_GRID_Y = 65535  # CUDA limit on the second grid dimension


def ctc_loss_reference(log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: Lengths,
                       target_lengths: Lengths, blank: int = 0, reduction: str = "mean",
                       zero_infinity: bool = False) -> torch.Tensor:
    """PyTorch CTC loss; fp16/bf16 log-probs are computed in fp32 (loss returned in fp32)."""
    x = log_probs if log_probs.dtype in (torch.float32, torch.float64) else log_probs.float()
    return F.ctc_loss(x, targets, input_lengths, target_lengths, blank=blank,
                      reduction=reduction, zero_infinity=zero_infinity)


def _cpu_values(x: Lengths):
    """Lengths as a Python list when that needs no device sync, else None."""
    if torch.is_tensor(x):
        return x.tolist() if x.device.type == "cpu" else None
    return [int(v) for v in x]


def _check(log_probs, targets, input_lengths, target_lengths, reduction) -> None:
    """Cheap argument checks (no GPU sync) mirroring torch's errors."""
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (T, B, C), got shape {tuple(log_probs.shape)}")
    T, B, _ = log_probs.shape
    for name, lens in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        vals = _cpu_values(lens)
        if vals is not None and len(vals) != B:
            raise ValueError(f"{name} must have length {B} (batch size), got {len(vals)}")
        if vals is not None and any(v < 0 for v in vals):
            raise ValueError(f"{name} must be non-negative")
    vals = _cpu_values(input_lengths)
    if vals is not None and any(v > T for v in vals):
        raise ValueError(f"input_lengths must be <= T={T}")
    vals = _cpu_values(target_lengths)
    if vals is not None and targets.dim() == 2 and any(v > targets.shape[1] for v in vals):
        raise ValueError(f"target_lengths must be <= targets.shape[1]={targets.shape[1]}")


def _kernel_ok(log_probs: torch.Tensor, targets: torch.Tensor) -> bool:
    """Shapes and dtypes the Triton kernel handles."""
    return (log_probs.dtype in _KERNEL_DTYPES and log_probs.numel() > 0
            and log_probs.shape[1] <= _MAX_GRID_Y  # the gradient grid is (T, B)
            and targets.dim() in (1, 2) and not targets.is_floating_point()
            and not targets.is_complex())


def ctc_loss(log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: Lengths,
             target_lengths: Lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> torch.Tensor:
    """CTC loss with ``torch.nn.functional.ctc_loss`` semantics.

    log_probs: (T, B, C) log-softmaxed, fp32/fp16/bf16 (fp64 goes to the reference);
    targets: (B, S) padded or 1-D concatenated class indices; lengths: (B,) tensors or lists.
    'mean' divides each loss by its target length (min 1) then averages over the batch.
    The loss is fp32 for fp16/bf16 inputs (fp32 accumulation); gradients match torch's
    convention for log-softmax inputs (``exp(lp) - occupancy``).
    """
    _check(log_probs, targets, input_lengths, target_lengths, reduction)
    if _kernel_ok(log_probs, targets) and dispatch.use_triton("ctc_loss", log_probs):
        from ocr.kernels.ctc_loss import ctc_loss_triton

        if log_probs.device.type != "cuda":  # interpreter: let errors surface
            return ctc_loss_triton(log_probs, targets, input_lengths, target_lengths,
                                   blank, reduction, zero_infinity)
        try:
            return ctc_loss_triton(log_probs, targets, input_lengths, target_lengths,
                                   blank, reduction, zero_infinity)
        except Exception as error:  # compile/launch failure: keep training on the reference
            dispatch.disable_triton("ctc_loss", error)
    return ctc_loss_reference(log_probs, targets, input_lengths, target_lengths,
                              blank, reduction, zero_infinity)
