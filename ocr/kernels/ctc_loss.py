"""CTC loss in Triton: fused alpha/beta recursion kernel + one-pass gradient kernel.

Semantics follow ``torch.nn.functional.ctc_loss`` on log-softmaxed inputs, including its
gradient convention: the gradient returned for ``log_probs`` is ``exp(lp) - gamma`` (the
gradient w.r.t. the logits before log_softmax), scaled by the per-sample output gradient.

Layout of the work:

* ``_ctc_fwd_kernel`` - one program per sample, looping over time.  The extended label
  (length ``2S+1``) lives in one register block; shifts by 1 and 2 go through ``tl.gather``.
  When a gradient is needed the same loop also runs the beta recursion backwards in time
  (the two are independent), so the sequential part is paid once.  It stores alpha/beta
  (B, T, 2S+1) and the index of each label's first occurrence in its target.
* ``_ctc_grad_kernel`` - one program per (t, b) row, fully parallel: the occupancy
  ``gamma = exp(alpha + beta - lp - logp)`` per extended-label position, blank occupancy
  summed in registers, repeated labels summed through a small scratch row with atomics,
  then ``grad = (exp(lp) - gamma) * g`` written once, directly, in log_probs' dtype.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from ocr.kernels import launch

__all__ = ["CTCLossFunction", "ctc_loss_triton"]

_REDUCTIONS = ("none", "sum", "mean")


@triton.jit
def _lse3(a, b, c):
    """log(exp(a) + exp(b) + exp(c)) elementwise; all -inf gives -inf (never NaN)."""
    m = tl.maximum(tl.maximum(a, b), c)
    ms = tl.where(m == float("-inf"), 0.0, m)
    return ms + tl.log(tl.exp(a - ms) + tl.exp(b - ms) + tl.exp(c - ms))


@triton.jit
def _shift(x, k: tl.constexpr, BLOCK: tl.constexpr):
    """y[s] = x[s - k] (k may be negative); -inf where s - k falls outside the block."""
    s = tl.arange(0, BLOCK)
    src = s - k
    ok = (src >= 0) & (src < BLOCK)
    src = tl.minimum(tl.maximum(src, 0), BLOCK - 1)
    return tl.where(ok, tl.gather(x, src, 0), float("-inf"))


@triton.jit
def _mask_if(mask, cond):
    """mask & cond for a block mask and a scalar condition (the interpreter mistypes `&`)."""
    return tl.where(cond, mask, False)


@triton.jit
def _target_base(tgt_ptr, tgt_len_ptr, b, stride_tb, PADDED: tl.constexpr, BLOCK_B: tl.constexpr):
    """Pointer to sample b's first target: padded (B, S) rows or concatenated 1-D targets."""
    if PADDED:
        base = tgt_ptr + b.to(tl.int64) * stride_tb
    else:
        j = tl.arange(0, BLOCK_B)
        off = tl.sum(tl.load(tgt_len_ptr + j, mask=j < b, other=0).to(tl.int64), 0)
        base = tgt_ptr + off * stride_tb
    return base


@triton.jit
def _extended_labels(tgt_base, stride_ts, S_b, blank, BLOCK_L: tl.constexpr):
    """Extended label l'(s) (blank at even s), label mask, and the skip (s-2 -> s) mask."""
    s = tl.arange(0, BLOCK_L)
    L_b = 2 * S_b + 1
    is_lab = (s < L_b) & (s % 2 == 1)
    li = tl.maximum(s - 1, 0) // 2  # (BLOCK_L,) index into the target
    lab = tl.load(tgt_base + li * stride_ts, mask=is_lab, other=0).to(tl.int32)
    lab = tl.where(is_lab, lab, blank)
    prev = tl.load(tgt_base + (li - 1) * stride_ts, mask=is_lab & (s >= 3), other=-1).to(tl.int32)
    skip = is_lab & (s >= 3) & (lab != prev)
    return lab, is_lab, skip


@triton.jit
def _first_occurrence(tgt_base, stride_ts, S_b, lab, is_lab,
                      BLOCK_L: tl.constexpr, CHUNK: tl.constexpr):
    """For each label position, the target index of the first label equal to it."""
    s = tl.arange(0, BLOCK_L)
    first = tl.where(is_lab, tl.maximum(s - 1, 0) // 2, 0)  # (BLOCK_L,) default: itself
    for j0 in range(0, S_b, CHUNK):
        j = j0 + tl.arange(0, CHUNK)
        tj = tl.load(tgt_base + j * stride_ts, mask=j < S_b, other=-1).to(tl.int32)
        match = (lab[:, None] == tj[None, :]) & is_lab[:, None]  # (BLOCK_L, CHUNK)
        cand = tl.min(tl.where(match, j[None, :], 2147483647), 1)
        first = tl.minimum(first, cand)
    return first


@triton.jit
def _ctc_fwd_kernel(
    lp_ptr, stride_lt, stride_lb, stride_lc,
    tgt_ptr, stride_tb, stride_ts, in_len_ptr, tgt_len_ptr,
    alpha_ptr, beta_ptr, first_ptr, nll_ptr, loss_ptr,
    B, T_max, L_max, blank,
    PADDED: tl.constexpr, MEAN: tl.constexpr, ZERO_INF: tl.constexpr, NEED_GRAD: tl.constexpr,
    BLOCK_L: tl.constexpr, BLOCK_B: tl.constexpr, CHUNK: tl.constexpr,
):
    """Per-sample negative log-likelihood; with NEED_GRAD also alpha, beta, first occurrences."""
    b = tl.program_id(0)
    T_b = tl.load(in_len_ptr + b)
    S_b = tl.load(tgt_len_ptr + b)
    L_b = 2 * S_b + 1
    s = tl.arange(0, BLOCK_L)
    valid = s < L_b
    tgt_base = _target_base(tgt_ptr, tgt_len_ptr, b, stride_tb, PADDED, BLOCK_B)
    lab, is_lab, skip_a = _extended_labels(tgt_base, stride_ts, S_b, blank, BLOCK_L)
    # beta may jump s -> s+2 exactly when alpha may jump s+2 <- s
    skip_b = _shift(tl.where(skip_a, 1.0, float("-inf")), -2, BLOCK_L) == 1.0

    lp_b = lp_ptr + b.to(tl.int64) * stride_lb + lab.to(tl.int64) * stride_lc  # (BLOCK_L,) ptrs
    ab_row = b.to(tl.int64) * T_max * L_max + s  # (BLOCK_L,) offsets of (b, 0, s)
    e_first = tl.load(lp_b, mask=valid, other=float("-inf")).to(tl.float32)
    alpha = tl.where(s < 2, e_first, float("-inf"))
    p_a = lp_b + stride_lt  # emissions of row 1, advanced one row per step
    e_na = tl.load(p_a, mask=_mask_if(valid, T_b > 1), other=float("-inf")).to(tl.float32)
    if NEED_GRAD:
        tl.store(alpha_ptr + ab_row, alpha, mask=valid)
        t_last = T_b - 1
        e_last = tl.load(lp_b + t_last.to(tl.int64) * stride_lt, mask=valid, other=float("-inf"))
        beta = tl.where((s == L_b - 1) | (s == L_b - 2), e_last.to(tl.float32), float("-inf"))
        tl.store(beta_ptr + ab_row + t_last * L_max, beta, mask=valid)
        p_b = lp_b + (t_last - 1).to(tl.int64) * stride_lt  # row T_b-2, moved back per step
        e_nb = tl.load(p_b, mask=_mask_if(valid, T_b > 1), other=float("-inf")).to(tl.float32)
        first = _first_occurrence(tgt_base, stride_ts, S_b, lab, is_lab, BLOCK_L, CHUNK)
        tl.store(first_ptr + b.to(tl.int64) * L_max + s, first, mask=valid)
    for t in range(1, T_b):
        e_a = e_na  # emissions of step t were fetched one iteration early
        p_a += stride_lt
        e_na = tl.load(p_a, mask=_mask_if(valid, t + 1 < T_b), other=float("-inf")).to(tl.float32)
        a2 = tl.where(skip_a, _shift(alpha, 2, BLOCK_L), float("-inf"))
        alpha = _lse3(alpha, _shift(alpha, 1, BLOCK_L), a2) + e_a
        if NEED_GRAD:
            tl.store(alpha_ptr + ab_row + t * L_max, alpha, mask=valid)
            tb = T_b - 1 - t  # beta runs backwards in time within the same loop
            e_b = e_nb
            p_b -= stride_lt
            e_nb = tl.load(p_b, mask=_mask_if(valid, tb > 0), other=float("-inf")).to(tl.float32)
            b2 = tl.where(skip_b, _shift(beta, -2, BLOCK_L), float("-inf"))
            beta = _lse3(beta, _shift(beta, -1, BLOCK_L), b2) + e_b
            tl.store(beta_ptr + ab_row + tb * L_max, beta, mask=valid)
    fin = tl.where(valid & (s >= L_b - 2), alpha, float("-inf"))
    m = tl.max(fin, 0)
    ms = tl.where(m == float("-inf"), 0.0, m)
    nll = -(ms + tl.log(tl.sum(tl.exp(fin - ms), 0)))
    loss = nll
    if ZERO_INF:
        loss = tl.where(nll == float("inf"), 0.0, loss)
    if MEAN:
        loss = loss / (tl.maximum(S_b, 1).to(tl.float32) * B)
    tl.store(nll_ptr + b, nll)
    tl.store(loss_ptr + b, loss)


@triton.jit
def _ctc_grad_kernel(
    lp_ptr, stride_lt, stride_lb, stride_lc,
    grad_ptr, stride_gt, stride_gb, stride_gc,
    tgt_ptr, stride_tb, stride_ts, in_len_ptr, tgt_len_ptr,
    alpha_ptr, beta_ptr, first_ptr, nll_ptr, gsum_ptr, gout_ptr, stride_go,
    B, C, T_max, L_max, S_slots, blank,
    PADDED: tl.constexpr, MEAN: tl.constexpr, ZERO_INF: tl.constexpr,
    BLOCK_L: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_C: tl.constexpr,
):
    """grad[t, b, :] = (exp(lp) - gamma) * g_b, written once; zero for t >= T_b."""
    t = tl.program_id(0)
    b = tl.program_id(1)
    T_b = tl.load(in_len_ptr + b)
    S_b = tl.load(tgt_len_ptr + b)
    L_b = 2 * S_b + 1
    nll = tl.load(nll_ptr + b)
    go = tl.load(gout_ptr + b * stride_go).to(tl.float32)
    if MEAN:
        go = go / (tl.maximum(S_b, 1).to(tl.float32) * B)
    go = tl.where(nll == float("inf"), float("nan"), go)  # torch: NaN grads for impossible
    if ZERO_INF:
        go = tl.where(nll == float("inf"), 0.0, go)
    active = t < T_b
    go = tl.where(active, go, 0.0)

    s = tl.arange(0, BLOCK_L)
    valid = _mask_if(s < L_b, active)
    tgt_base = _target_base(tgt_ptr, tgt_len_ptr, b, stride_tb, PADDED, BLOCK_B)
    lab, is_lab, _ = _extended_labels(tgt_base, stride_ts, S_b, blank, BLOCK_L)
    is_lab = _mask_if(is_lab, active)
    lp_row = lp_ptr + t.to(tl.int64) * stride_lt + b.to(tl.int64) * stride_lb
    ab = b.to(tl.int64) * T_max * L_max + t * L_max + s  # (BLOCK_L,)
    alpha = tl.load(alpha_ptr + ab, mask=valid, other=float("-inf"))
    beta = tl.load(beta_ptr + ab, mask=valid, other=float("-inf"))
    e = tl.load(lp_row + lab.to(tl.int64) * stride_lc, mask=valid, other=0.0).to(tl.float32)
    ok = _mask_if(valid & (alpha > float("-inf")) & (beta > float("-inf")), nll < float("inf"))
    gamma = tl.where(ok, tl.exp(alpha + beta - e + nll), 0.0)  # (BLOCK_L,) occupancy
    blank_occ = tl.sum(tl.where(s % 2 == 0, gamma, 0.0), 0)

    # repeated labels: sum occupancies per distinct label in a scratch row (first occurrence)
    slot = tl.load(first_ptr + b.to(tl.int64) * L_max + s, mask=is_lab, other=0)
    gs_row = gsum_ptr + (t.to(tl.int64) * B + b) * S_slots + slot
    tl.store(gs_row, tl.zeros_like(gamma), mask=is_lab)
    tl.debug_barrier()
    tl.atomic_add(gs_row, gamma, mask=is_lab, sem="relaxed")

    g_row = grad_ptr + t.to(tl.int64) * stride_gt + b.to(tl.int64) * stride_gb
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        cm = c < C
        x = tl.load(lp_row + c * stride_lc, mask=cm, other=float("-inf")).to(tl.float32)
        g = (tl.exp(x) - tl.where(c == blank, blank_occ, 0.0)) * go
        tl.store(g_row + c * stride_gc, g.to(grad_ptr.dtype.element_ty), mask=cm)
    tl.debug_barrier()
    occ = tl.load(gs_row, mask=is_lab, other=0.0, volatile=True)
    g_lab = (tl.exp(e) - occ) * go
    tl.store(g_row + lab.to(tl.int64) * stride_gc, g_lab.to(grad_ptr.dtype.element_ty), mask=is_lab)


def _pow2(n: int, lo: int = 1) -> int:
    """Next power of two >= max(n, lo)."""
    return max(lo, triton.next_power_of_2(max(int(n), 1)))


def _warps_for(block: int, per_thread: int, most: int = 8) -> int:
    """Enough warps to hold ``block`` elements at ~``per_thread`` each (1..most)."""
    return int(min(most, max(1, block // (32 * per_thread))))


def _prepare(log_probs, targets, input_lengths, target_lengths):
    """Lengths as int32 device tensors, targets on device, and the max target length."""
    dev = log_probs.device
    if targets.dim() == 2:
        s_max = int(targets.shape[1])
    elif torch.is_tensor(target_lengths):
        s_max = int(target_lengths.max()) if target_lengths.numel() else 0
    else:
        s_max = max([int(x) for x in target_lengths], default=0)
    in_len = torch.as_tensor(input_lengths, device=dev).to(torch.int32).contiguous()
    tgt_len = torch.as_tensor(target_lengths, device=dev).to(torch.int32).contiguous()
    targets = targets.to(dev)
    if targets.dtype not in (torch.int32, torch.int64):
        targets = targets.long()
    return targets, in_len, tgt_len, s_max


def _target_strides(targets):
    """(padded?, stride_b, stride_s) for (B, S) padded or 1-D concatenated targets."""
    if targets.dim() == 2:
        return True, targets.stride(0), targets.stride(1)
    return False, targets.stride(0), targets.stride(0)


class CTCLossFunction(torch.autograd.Function):
    """autograd wrapper: forward runs the recursions, backward the one-pass gradient."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, reduction,
                zero_infinity):
        T, B, C = log_probs.shape  # (T, B, C)
        targets, in_len, tgt_len, s_max = _prepare(log_probs, targets, input_lengths, target_lengths)
        padded, stride_tb, stride_ts = _target_strides(targets)
        need_grad = bool(ctx.needs_input_grad[0])
        L_max = 2 * s_max + 1
        BLOCK_L, BLOCK_B = _pow2(L_max, 16), _pow2(B, 16)
        dev = log_probs.device
        f32 = dict(device=dev, dtype=torch.float32)
        if need_grad:
            alpha = torch.empty((B, T, L_max), **f32)  # (B, T, 2S+1)
            beta = torch.empty((B, T, L_max), **f32)
            first = torch.empty((B, L_max), device=dev, dtype=torch.int32)
        else:
            alpha = beta = torch.empty(1, **f32)
            first = torch.empty(1, device=dev, dtype=torch.int32)
        nll = torch.empty(B, **f32)
        loss = torch.empty(B, **f32)
        mean = reduction == "mean"
        launch(
            _ctc_fwd_kernel, (B,), log_probs, *log_probs.stride(),
            targets, stride_tb, stride_ts, in_len, tgt_len,
            alpha, beta, first, nll, loss, B, T, L_max, blank,
            PADDED=padded, MEAN=mean, ZERO_INF=bool(zero_infinity), NEED_GRAD=need_grad,
            BLOCK_L=BLOCK_L, BLOCK_B=BLOCK_B, CHUNK=_pow2(1024 // BLOCK_L, 2),
            num_warps=_warps_for(BLOCK_L, 4, most=16), interpret=dev.type != "cuda",
        )
        if need_grad:
            ctx.save_for_backward(log_probs, targets, in_len, tgt_len, alpha, beta, first, nll)
            ctx.cfg = (padded, stride_tb, stride_ts, s_max, blank, mean, bool(zero_infinity), reduction)
        return loss if reduction == "none" else loss.sum()

    @staticmethod
    def backward(ctx, grad_out):
        log_probs, targets, in_len, tgt_len, alpha, beta, first, nll = ctx.saved_tensors
        padded, stride_tb, stride_ts, s_max, blank, mean, zero_inf, reduction = ctx.cfg
        T, B, C = log_probs.shape
        L_max = 2 * s_max + 1
        grad_out = grad_out.to(torch.float32)
        if reduction == "none":
            stride_go = grad_out.stride(0) if grad_out.dim() else 0
        else:
            grad_out, stride_go = grad_out.reshape(1), 0
        grad = torch.empty_like(log_probs)  # (T, B, C), log_probs' strides (e.g. a transposed view)
        s_slots = max(s_max, 1)
        gsum = torch.empty((T, B, s_slots), device=log_probs.device, dtype=torch.float32)  # scratch
        BLOCK_C, BLOCK_L = _pow2(min(C, 2048), 32), _pow2(L_max, 16)
        launch(
            _ctc_grad_kernel, (T, B), log_probs, *log_probs.stride(), grad, *grad.stride(),
            targets, stride_tb, stride_ts, in_len, tgt_len,
            alpha, beta, first, nll, gsum, grad_out, stride_go,
            B, C, T, L_max, s_slots, blank,
            PADDED=padded, MEAN=mean, ZERO_INF=zero_inf,
            BLOCK_L=BLOCK_L, BLOCK_B=_pow2(B, 16), BLOCK_C=BLOCK_C,
            num_warps=max(_warps_for(BLOCK_C, 4), _warps_for(BLOCK_L, 4)),
            interpret=log_probs.device.type != "cuda",
        )
        return grad, None, None, None, None, None, None


def ctc_loss_triton(log_probs, targets, input_lengths, target_lengths, blank=0,
                    reduction="mean", zero_infinity=False):
    """Triton CTC loss; same arguments and semantics as ``torch.nn.functional.ctc_loss``.

    log_probs: (T, B, C) fp32/fp16/bf16 log-softmax outputs (any strides). The loss is
    returned in fp32 (accumulation is always fp32); the gradient in log_probs' dtype.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be (T, B, C), got shape {tuple(log_probs.shape)}")
    return CTCLossFunction.apply(log_probs, targets, input_lengths, target_lengths,
                                 int(blank), reduction, bool(zero_infinity))
