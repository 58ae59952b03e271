"""Differentiable ops with a Triton fast path and a PyTorch reference.

    from ocr.ops import ctc_loss, attention

``ctc_loss`` follows ``torch.nn.functional.ctc_loss``; ``attention`` is multi-head attention
on (B, H, L, D) tensors with causal and key-padding masks. On CUDA (with triton installed)
they run the kernels of :mod:`ocr.kernels`; otherwise, or with ``OCR_FORCE_REFERENCE=1``,
the PyTorch reference. ``OCR_TRITON_INTERPRET_OK=1`` (or ``TRITON_INTERPRET=1``) also runs
the kernels on CPU tensors through Triton's interpreter (slow; tests). Importing this package
does not import triton.
"""
from ocr.ops.attention import attention, attention_reference
from ocr.ops.ctc import ctc_loss, ctc_loss_reference
from ocr.ops.dispatch import backend_for

__all__ = ["attention", "attention_reference", "backend_for", "ctc_loss", "ctc_loss_reference"]
