"""Attention op: the fused Triton kernel on CUDA when usable, PyTorch SDPA otherwise."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ocr.ops import dispatch

__all__ = ["attention", "attention_reference"]

_KERNEL_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
_HALF = (torch.float16, torch.bfloat16)
_MAX_KERNEL_HEAD_DIM = 128
_MAX_GRID_Y = 65535  # CUDA limit on the second grid dimension


def _check(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kpm: Optional[torch.Tensor]) -> None:
    """Shape checks shared by both backends."""
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError("q, k, v must be (B, H, L, D) tensors")
    if k.shape != v.shape or q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(f"shape mismatch: q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    if kpm is not None and tuple(kpm.shape) != (k.shape[0], k.shape[2]):
        raise ValueError(f"key_padding_mask must be (B, Lk) = {(k.shape[0], k.shape[2])}, "
                         f"got {tuple(kpm.shape)}")


def attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                        key_padding_mask: Optional[torch.Tensor] = None,
                        scale: Optional[float] = None) -> torch.Tensor:
    """``scaled_dot_product_attention`` with the equivalent boolean mask.

    Causal masking is top-left aligned (query i sees keys j <= i). Rows whose keys are all
    masked return zeros (not NaN) and pass no gradient.
    """
    _check(q, k, v, key_padding_mask)
    allow = _allowed(q, k, causal, key_padding_mask)
    dead = None if allow is None else ~allow.any(dim=-1, keepdim=True)  # (B, 1, Lq, 1) rows with no key
    if q.device.type == "cpu" and q.dtype in _HALF:
        out = _attention_matmul(q, k, v, allow, dead, scale)
    elif allow is None:
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allow | dead, scale=scale)
    return out if dead is None else out.masked_fill(dead, 0.0)


def _allowed(q, k, causal: bool, key_padding_mask) -> Optional[torch.Tensor]:
    """(B or 1, 1, Lq, Lk) bool, True where a query may see a key; None when it sees every key.
    Causal alone never empties a row (key 0 is always seen)."""
    if key_padding_mask is None and not causal:
        return None
    B, _, Lq, _ = q.shape
    Lk = k.shape[2]
    allow = torch.ones(1, 1, Lq, Lk, device=q.device, dtype=torch.bool)
    if causal:
        allow = allow.tril()
    if key_padding_mask is not None:
        allow = (allow & ~key_padding_mask.to(device=q.device, dtype=torch.bool)[:, None, None, :]).expand(B, 1, Lq, Lk)
    return allow


def _attention_matmul(q, k, v, allow, dead, scale) -> torch.Tensor:
    """softmax(q k^T * scale) v as two matmuls, the softmax in fp32. On CPU in bf16/fp16 this is
    several times faster than SDPA's fused CPU kernels at the recognizers' sizes (tens of keys: 15
    against 93 ms forward and backward for (64, 8, 98, 40, 32) in bf16)."""
    scores = (q @ k.transpose(-1, -2)).float() * (q.shape[-1] ** -0.5 if scale is None else scale)
    if allow is not None:
        scores = scores.masked_fill(~(allow | dead), float("-inf"))
    return scores.softmax(-1).to(v.dtype) @ v


def _kernel_ok(q, k, v, kpm) -> bool:
    """Inputs the Triton kernel handles."""
    same = q.dtype == k.dtype == v.dtype and q.dtype in _KERNEL_DTYPES
    sizes = (q.shape[-1] <= _MAX_KERNEL_HEAD_DIM and q.numel() > 0 and k.numel() > 0
             and q.shape[0] * q.shape[1] <= _MAX_GRID_Y)  # grids are (blocks, B*H)
    return same and sizes and (kpm is None or kpm.device == q.device)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
              key_padding_mask: Optional[torch.Tensor] = None,
              scale: Optional[float] = None) -> torch.Tensor:
    """Multi-head attention. q: (B, H, Lq, D), k/v: (B, H, Lk, D) -> (B, H, Lq, D).

    key_padding_mask: (B, Lk) bool, True = padded (ignored) key. ``scale`` defaults to
    1/sqrt(D). Causal masking is top-left aligned like SDPA's ``is_causal``. Rows whose keys
    are all masked give zeros. Same semantics on both backends (see ocr.ops.dispatch).
    """
    _check(q, k, v, key_padding_mask)
    if _kernel_ok(q, k, v, key_padding_mask) and dispatch.use_triton("attention", q, k, v):
        from ocr.kernels.attention import attention_triton

        if q.device.type != "cuda":  # interpreter: let errors surface
            return attention_triton(q, k, v, causal, key_padding_mask, scale)
        try:
            return attention_triton(q, k, v, causal, key_padding_mask, scale)
        except Exception as error:  # compile/launch failure: fall back for this process
            dispatch.disable_triton("attention", error)
    return attention_reference(q, k, v, causal, key_padding_mask, scale)
