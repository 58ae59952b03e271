"""Fused multi-head attention in Triton (FlashAttention-2 style, online softmax).

q: (B, H, Lq, D), k/v: (B, H, Lk, D), any strides with a unit stride on D; optional
key-padding mask (B, Lk) bool (True = padded key, ignored); causal masking is top-left
aligned like ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)`` (query i
sees keys j <= i).  Rows whose keys are all masked return zeros and get zero gradients.

Kernels:
* ``_attn_fwd_kernel`` - one program per (query block, batch*head); keeps the running max,
  normaliser and output tile in registers; writes O and the base-2 log-sum-exp per row.
* ``_attn_bwd_short_kernel`` - sequences that fit one block (recognition decoders, L<=64):
  one program per batch*head computes dQ, dK, dV in one go (no recomputation, no delta pass).
* ``_attn_bwd_delta_kernel`` + ``_attn_bwd_kernel`` - general case: rowsum(dO*O), then one
  launch whose first programs accumulate dK/dV per key block and the rest dQ per query block.
"""
from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from ocr.kernels import launch

__all__ = ["AttentionFunction", "attention_triton"]

_LOG2E = 1.4426950408889634


@triton.jit
def _dot(a, b, PREC: tl.constexpr, UPCAST: tl.constexpr):
    """a @ b with fp32 accumulation; UPCAST computes in fp32 (the CPU interpreter's bf16
    matmul is wrong, so interpreted bf16 runs use it; GPU builds never do)."""
    if UPCAST:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    return tl.dot(a, b, input_precision=PREC)


@triton.jit
def _mask_scores(s, offs_m, offs_n, Lk, kpm_row, CHECK_N: tl.constexpr, CAUSAL: tl.constexpr,
                 HAS_KPM: tl.constexpr):
    """-inf for (BM, BN) scores of keys past Lk (CHECK_N), in the future (CAUSAL), or padded."""
    if CHECK_N:
        s = tl.where(offs_n[None, :] < Lk, s, float("-inf"))
    if HAS_KPM:
        pad = tl.load(kpm_row + offs_n, mask=offs_n < Lk, other=1)
        s = tl.where((pad == 0)[None, :], s, float("-inf"))
    if CAUSAL:
        s = tl.where(offs_m[:, None] >= offs_n[None, :], s, float("-inf"))
    return s


@triton.jit
def _load_tile(base, offs_r, stride_r, n_rows, offs_d, HEAD_DIM: tl.constexpr):
    """(len(offs_r), BLOCK_D) tile of a (rows, HEAD_DIM) matrix with unit column stride."""
    mask = (offs_r[:, None] < n_rows) & (offs_d[None, :] < HEAD_DIM)
    return tl.load(base + offs_r[:, None] * stride_r + offs_d[None, :], mask=mask, other=0.0)


@triton.jit
def _store_tile(base, x, offs_r, stride_r, n_rows, offs_d, HEAD_DIM: tl.constexpr):
    """Store a (len(offs_r), BLOCK_D) tile, cast to the destination dtype."""
    mask = (offs_r[:, None] < n_rows) & (offs_d[None, :] < HEAD_DIM)
    tl.store(base + offs_r[:, None] * stride_r + offs_d[None, :], x.to(base.dtype.element_ty), mask=mask)


@triton.jit
def _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, kpm_row, offs_m, lo, hi, skn, svn, Lk, qk_scale,
                HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
                CHECK_N: tl.constexpr, CAUSAL: tl.constexpr, HAS_KPM: tl.constexpr,
                PREC: tl.constexpr, UPCAST: tl.constexpr):
    """Online-softmax update over key blocks [lo, hi); masks only what the caller asks for."""
    offs_d = tl.arange(0, BLOCK_D)
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = _load_tile(k_base, offs_n, skn, Lk, offs_d, HEAD_DIM)  # (BN, D)
        s = _dot(q, tl.trans(k), PREC, UPCAST) * qk_scale  # (BM, BN), log2 units
        s = _mask_scores(s, offs_m, offs_n, Lk, kpm_row, CHECK_N, CAUSAL, HAS_KPM)
        m_new = tl.maximum(m_i, tl.max(s, 1))
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)  # nothing seen yet: no shift
        p = tl.exp2(s - m_use[:, None])
        alpha = tl.exp2(m_i - m_use)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = _load_tile(v_base, offs_n, svn, Lk, offs_d, HEAD_DIM)  # (BN, D)
        acc = acc * alpha[:, None] + _dot(p.to(v.dtype), v, PREC, UPCAST)
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def _attn_fwd_kernel(
    Q, K, V, O, LSE, KPM,
    sqb, sqh, sqm, skb, skh, skn, svb, svh, svn, sob, soh, som, skpb,
    H, Lq, Lk, qk_scale,
    HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    CAUSAL: tl.constexpr, HAS_KPM: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """O = softmax(Q K^T * scale) V for one query block; LSE in base 2 (+inf if no key)."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = bh % H
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q = _load_tile(Q + b * sqb + h * sqh, offs_m, sqm, Lq, offs_d, HEAD_DIM)  # (BM, D)
    k_base = K + b * skb + h * skh
    v_base = V + b * svb + h * svh
    kpm_row = KPM + b * skpb
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)  # (BM, D)
    full_end = (Lk // BLOCK_N) * BLOCK_N  # key blocks before this need no bound check
    if CAUSAL:  # blocks wholly left of the diagonal need no causal mask either
        hi = tl.minimum(Lk, (pid_m + 1) * BLOCK_M)
        lo = tl.minimum((pid_m * BLOCK_M) // BLOCK_N * BLOCK_N, full_end)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, kpm_row, offs_m, 0, lo,
                                    skn, svn, Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N,
                                    False, False, HAS_KPM, PREC, UPCAST)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, kpm_row, offs_m, lo, hi,
                                    skn, svn, Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N,
                                    True, True, HAS_KPM, PREC, UPCAST)
    else:
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, kpm_row, offs_m, 0, full_end,
                                    skn, svn, Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N,
                                    False, False, HAS_KPM, PREC, UPCAST)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, kpm_row, offs_m, full_end, Lk,
                                    skn, svn, Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N,
                                    True, False, HAS_KPM, PREC, UPCAST)
    empty = l_i == 0.0  # every key masked: output 0, lse +inf (zero gradients)
    _store_tile(O + b * sob + h * soh, acc / tl.where(empty, 1.0, l_i)[:, None], offs_m, som, Lq,
                offs_d, HEAD_DIM)
    lse = tl.where(empty, float("inf"), m_i + tl.log2(tl.where(empty, 1.0, l_i)))
    tl.store(LSE + bh.to(tl.int64) * Lq + offs_m, lse, mask=offs_m < Lq)


@triton.jit
def _attn_bwd_short_kernel(
    Q, K, V, O, DO, DQ, DK, DV, LSE, KPM,
    sqb, sqh, sqm, skb, skh, skn, svb, svh, svn, sob, soh, som, sdob, sdoh, sdom,
    sdqb, sdqh, sdqm, sdkb, sdkh, sdkn, sdvb, sdvh, sdvn, skpb,
    H, Lq, Lk, qk_scale, sm_scale,
    HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    CAUSAL: tl.constexpr, HAS_KPM: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """Whole backward for one (batch, head) whose Lq <= BLOCK_M and Lk <= BLOCK_N.

    Keys past Lk load as zeros: their dK/dV rows are not stored and they add 0 to dQ;
    queries past Lq have lse = +inf, hence p = 0."""
    bh = tl.program_id(0)
    b = (bh // H).to(tl.int64)
    h = bh % H
    offs_m = tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    o = _load_tile(O + b * sob + h * soh, offs_m, som, Lq, offs_d, HEAD_DIM)  # (BM, D)
    do = _load_tile(DO + b * sdob + h * sdoh, offs_m, sdom, Lq, offs_d, HEAD_DIM)
    delta = tl.sum(o.to(tl.float32) * do.to(tl.float32), 1)  # (BM,)
    q = _load_tile(Q + b * sqb + h * sqh, offs_m, sqm, Lq, offs_d, HEAD_DIM)
    k = _load_tile(K + b * skb + h * skh, offs_n, skn, Lk, offs_d, HEAD_DIM)  # (BN, D)
    v = _load_tile(V + b * svb + h * svh, offs_n, svn, Lk, offs_d, HEAD_DIM)
    lse = tl.load(LSE + bh.to(tl.int64) * Lq + offs_m, mask=offs_m < Lq, other=float("inf"))
    s = _dot(q, tl.trans(k), PREC, UPCAST) * qk_scale  # (BM, BN)
    s = _mask_scores(s, offs_m, offs_n, Lk, KPM + b * skpb, False, CAUSAL, HAS_KPM)
    p = tl.exp2(s - lse[:, None])
    dv = _dot(tl.trans(p.to(do.dtype)), do, PREC, UPCAST)  # (BN, D)
    _store_tile(DV + b * sdvb + h * sdvh, dv, offs_n, sdvn, Lk, offs_d, HEAD_DIM)
    dp = _dot(do, tl.trans(v), PREC, UPCAST)  # (BM, BN)
    ds = (p * (dp - delta[:, None])).to(q.dtype)
    dq = _dot(ds, k, PREC, UPCAST) * sm_scale
    _store_tile(DQ + b * sdqb + h * sdqh, dq, offs_m, sdqm, Lq, offs_d, HEAD_DIM)
    dk = _dot(tl.trans(ds), q, PREC, UPCAST) * sm_scale
    _store_tile(DK + b * sdkb + h * sdkh, dk, offs_n, sdkn, Lk, offs_d, HEAD_DIM)


@triton.jit
def _attn_bwd_delta_kernel(O, DO, DELTA, sob, soh, som, sdob, sdoh, sdom, H, Lq,
                           HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_M: tl.constexpr):
    """delta[bh, m] = sum_d O * dO (fp32)."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = bh % H
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    o = _load_tile(O + b * sob + h * soh, offs_m, som, Lq, offs_d, HEAD_DIM).to(tl.float32)
    do = _load_tile(DO + b * sdob + h * sdoh, offs_m, sdom, Lq, offs_d, HEAD_DIM).to(tl.float32)
    tl.store(DELTA + bh.to(tl.int64) * Lq + offs_m, tl.sum(o * do, 1), mask=offs_m < Lq)


@triton.jit
def _dkdv_blocks(dk, dv, k, v, keep_n, q_base, do_base, lse_row, delta_row, offs_n, lo, hi,
                 sqm, sdom, Lq, qk_scale, HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr,
                 BLOCK_M: tl.constexpr, CAUSAL: tl.constexpr, HAS_KPM: tl.constexpr,
                 PREC: tl.constexpr, UPCAST: tl.constexpr):
    """Accumulate dK (unscaled) and dV of one key block over query blocks [lo, hi)."""
    offs_d = tl.arange(0, BLOCK_D)
    for start_m in range(lo, hi, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        q = _load_tile(q_base, offs_m, sqm, Lq, offs_d, HEAD_DIM)  # (BM, D)
        do = _load_tile(do_base, offs_m, sdom, Lq, offs_d, HEAD_DIM)
        lse = tl.load(lse_row + offs_m, mask=offs_m < Lq, other=float("inf"))
        delta = tl.load(delta_row + offs_m, mask=offs_m < Lq, other=0.0)
        s_t = _dot(k, tl.trans(q), PREC, UPCAST) * qk_scale  # (BN, BM) = scores transposed
        if HAS_KPM:
            s_t = tl.where(keep_n[:, None], s_t, float("-inf"))
        if CAUSAL:
            s_t = tl.where(offs_m[None, :] >= offs_n[:, None], s_t, float("-inf"))
        p_t = tl.exp2(s_t - lse[None, :])
        dv += _dot(p_t.to(do.dtype), do, PREC, UPCAST)
        dp_t = _dot(v, tl.trans(do), PREC, UPCAST)  # (BN, BM)
        ds_t = p_t * (dp_t - delta[None, :])
        dk += _dot(ds_t.to(q.dtype), q, PREC, UPCAST)
    return dk, dv


@triton.jit
def _dq_blocks(dq, q, do, lse, delta, k_base, v_base, kpm_row, offs_m, lo, hi, skn, svn, Lk,
               qk_scale, HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
               CAUSAL: tl.constexpr, HAS_KPM: tl.constexpr, PREC: tl.constexpr,
               UPCAST: tl.constexpr):
    """Accumulate dQ (unscaled) of one query block over key blocks [lo, hi)."""
    offs_d = tl.arange(0, BLOCK_D)
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = _load_tile(k_base, offs_n, skn, Lk, offs_d, HEAD_DIM)  # (BN, D); zeros past Lk
        v = _load_tile(v_base, offs_n, svn, Lk, offs_d, HEAD_DIM)
        s = _dot(q, tl.trans(k), PREC, UPCAST) * qk_scale  # (BM, BN)
        s = _mask_scores(s, offs_m, offs_n, Lk, kpm_row, False, CAUSAL, HAS_KPM)
        p = tl.exp2(s - lse[:, None])
        dp = _dot(do, tl.trans(v), PREC, UPCAST)
        ds = p * (dp - delta[:, None])
        dq += _dot(ds.to(k.dtype), k, PREC, UPCAST)
    return dq


@triton.jit
def _attn_bwd_kernel(
    Q, K, V, DO, DQ, DK, DV, LSE, DELTA, KPM,
    sqb, sqh, sqm, skb, skh, skn, svb, svh, svn, sdob, sdoh, sdom,
    sdqb, sdqh, sdqm, sdkb, sdkh, sdkn, sdvb, sdvh, sdvn, skpb,
    H, Lq, Lk, n_kblocks, qk_scale, sm_scale,
    HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_M1: tl.constexpr, BLOCK_N1: tl.constexpr,
    BLOCK_M2: tl.constexpr, BLOCK_N2: tl.constexpr,
    CAUSAL: tl.constexpr, HAS_KPM: tl.constexpr, PREC: tl.constexpr, UPCAST: tl.constexpr,
):
    """Programs [0, n_kblocks) write dK/dV of a key block, the others dQ of a query block.

    No bound masks in the loops: keys past Lk load as zeros (their rows are not stored and
    add 0 to dQ) and queries past Lq have lse = +inf (p = 0)."""
    pid = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // H).to(tl.int64)
    h = bh % H
    offs_d = tl.arange(0, BLOCK_D)
    q_base = Q + b * sqb + h * sqh
    k_base = K + b * skb + h * skh
    v_base = V + b * svb + h * svh
    do_base = DO + b * sdob + h * sdoh
    lse_row = LSE + bh.to(tl.int64) * Lq
    delta_row = DELTA + bh.to(tl.int64) * Lq
    kpm_row = KPM + b * skpb
    if pid < n_kblocks:
        start_n = pid * BLOCK_N1
        offs_n = start_n + tl.arange(0, BLOCK_N1)
        k = _load_tile(k_base, offs_n, skn, Lk, offs_d, HEAD_DIM)  # (BN1, D)
        v = _load_tile(v_base, offs_n, svn, Lk, offs_d, HEAD_DIM)
        keep_n = offs_n < Lk
        q_end = Lq
        if HAS_KPM:  # padded keys; a block with no live key skips the loop entirely
            keep_n = tl.load(kpm_row + offs_n, mask=offs_n < Lk, other=1) == 0
            q_end = tl.where(tl.max(keep_n.to(tl.int32), 0) > 0, Lq, 0)
        dk = tl.zeros([BLOCK_N1, BLOCK_D], tl.float32)
        dv = tl.zeros([BLOCK_N1, BLOCK_D], tl.float32)
        if CAUSAL:  # queries before start_n see none of these keys; from `mid` on, all
            lo = (start_n // BLOCK_M1) * BLOCK_M1
            mid = tl.minimum(tl.cdiv(start_n + BLOCK_N1, BLOCK_M1) * BLOCK_M1, q_end)
            dk, dv = _dkdv_blocks(dk, dv, k, v, keep_n, q_base, do_base, lse_row, delta_row, offs_n,
                                  lo, mid, sqm, sdom, Lq, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_M1,
                                  True, HAS_KPM, PREC, UPCAST)
            dk, dv = _dkdv_blocks(dk, dv, k, v, keep_n, q_base, do_base, lse_row, delta_row, offs_n,
                                  mid, q_end, sqm, sdom, Lq, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_M1,
                                  False, HAS_KPM, PREC, UPCAST)
        else:
            dk, dv = _dkdv_blocks(dk, dv, k, v, keep_n, q_base, do_base, lse_row, delta_row, offs_n,
                                  0, q_end, sqm, sdom, Lq, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_M1,
                                  False, HAS_KPM, PREC, UPCAST)
        _store_tile(DK + b * sdkb + h * sdkh, dk * sm_scale, offs_n, sdkn, Lk, offs_d, HEAD_DIM)
        _store_tile(DV + b * sdvb + h * sdvh, dv, offs_n, sdvn, Lk, offs_d, HEAD_DIM)
    else:
        start_m = (pid - n_kblocks) * BLOCK_M2
        offs_m = start_m + tl.arange(0, BLOCK_M2)
        q = _load_tile(q_base, offs_m, sqm, Lq, offs_d, HEAD_DIM)  # (BM2, D)
        do = _load_tile(do_base, offs_m, sdom, Lq, offs_d, HEAD_DIM)
        lse = tl.load(lse_row + offs_m, mask=offs_m < Lq, other=float("inf"))
        delta = tl.load(delta_row + offs_m, mask=offs_m < Lq, other=0.0)
        dq = tl.zeros([BLOCK_M2, BLOCK_D], tl.float32)
        if CAUSAL:  # key blocks wholly left of the diagonal, then the diagonal ones
            hi = tl.minimum(Lk, start_m + BLOCK_M2)
            lo = tl.minimum((start_m // BLOCK_N2) * BLOCK_N2, hi)
            dq = _dq_blocks(dq, q, do, lse, delta, k_base, v_base, kpm_row, offs_m, 0, lo, skn, svn,
                            Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N2, False, HAS_KPM, PREC, UPCAST)
            dq = _dq_blocks(dq, q, do, lse, delta, k_base, v_base, kpm_row, offs_m, lo, hi, skn, svn,
                            Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N2, True, HAS_KPM, PREC, UPCAST)
        else:
            dq = _dq_blocks(dq, q, do, lse, delta, k_base, v_base, kpm_row, offs_m, 0, Lk, skn, svn,
                            Lk, qk_scale, HEAD_DIM, BLOCK_D, BLOCK_N2, False, HAS_KPM, PREC, UPCAST)
        _store_tile(DQ + b * sdqb + h * sdqh, dq * sm_scale, offs_m, sdqm, Lq, offs_d, HEAD_DIM)


# ----------------------------------------------------------------------------- host side

def _pow2(n: int, lo: int = 16) -> int:
    """Next power of two >= max(n, lo)."""
    return max(lo, triton.next_power_of_2(max(int(n), 1)))


def _prec(dtype: torch.dtype) -> str:
    """tl.dot precision: exact fp32 for fp32 inputs (tests/parity), tensor cores otherwise."""
    return "ieee" if dtype == torch.float32 else "tf32"


def fwd_config(Lq: int, Lk: int, head_dim: int) -> dict:
    """Forward tile sizes: small tiles for recognition-length rows, 128x64 for long ones
    (no software pipelining when all keys fit one block)."""
    bd = _pow2(head_dim)
    bm = min(128, _pow2(Lq))
    bn = min(64, _pow2(Lk))
    warps = 8 if (bm >= 128 and bd >= 128) else (4 if bm >= 64 else 2)
    stages = 1 if Lk <= bn else (3 if bd <= 64 else 2)
    return dict(BLOCK_M=bm, BLOCK_N=bn, num_warps=warps, num_stages=stages)


def short_bwd_ok(Lq: int, Lk: int, head_dim: int) -> bool:
    """Whether one program per (batch, head) can do the whole backward (short sequences)."""
    bd = _pow2(head_dim)
    longest = max(_pow2(Lq), _pow2(Lk))
    return longest <= 64 if bd <= 64 else longest <= 32 and bd <= 128


def short_bwd_config(Lq: int, Lk: int, head_dim: int) -> dict:
    """Tile sizes of the single-block backward."""
    bm, bn, bd = _pow2(Lq), _pow2(Lk), _pow2(head_dim)
    warps = 8 if bm * bn * bd >= 64 * 64 * 64 else (4 if bm * bn >= 32 * 32 else 2)
    return dict(BLOCK_M=bm, BLOCK_N=bn, num_warps=warps, num_stages=1)


def bwd_config(Lq: int, Lk: int, head_dim: int) -> dict:
    """General backward tiles: tall key blocks for dK/dV, tall query blocks for dQ
    (8 warps once a tile has 128 rows: 4 spill registers on sm_90 at head dim 64)."""
    bd = _pow2(head_dim)
    big = 128 if bd <= 64 else 64
    cfg = dict(BLOCK_M1=min(32, _pow2(Lq)), BLOCK_N1=min(big, _pow2(Lk)),
               BLOCK_M2=min(big, _pow2(Lq)), BLOCK_N2=min(32, _pow2(Lk)))
    tall = max(cfg["BLOCK_N1"], cfg["BLOCK_M2"]) >= 128 or bd >= 128
    return dict(cfg, num_warps=8 if tall else 4, num_stages=3 if bd <= 64 else 2)


def _common(q: torch.Tensor) -> dict:
    """Launch arguments shared by the kernels: head dim, dot precision, interpreter mode."""
    interpret = q.device.type != "cuda"
    D = q.shape[-1]
    return dict(HEAD_DIM=D, BLOCK_D=_pow2(D), PREC=_prec(q.dtype), interpret=interpret,
                UPCAST=interpret and q.dtype == torch.bfloat16)


def _unit_last(x: torch.Tensor) -> torch.Tensor:
    """The kernels need a unit stride along the head dimension."""
    return x if x.stride(-1) == 1 else x.contiguous()


def _strides3(x: torch.Tensor):
    """(batch, head, row) strides of a (B, H, L, D) tensor."""
    return x.stride(0), x.stride(1), x.stride(2)


def _kpm_arg(kpm, ref: torch.Tensor):
    """Key padding mask as a uint8 (B, Lk) tensor plus its batch stride (dummy when None)."""
    if kpm is None:
        return torch.empty(1, device=ref.device, dtype=torch.uint8), 0, False
    if kpm.dtype == torch.bool:
        kpm = kpm.view(torch.uint8) if kpm.stride(-1) == 1 else kpm.contiguous().view(torch.uint8)
    else:
        kpm = (kpm != 0).to(torch.uint8)
    kpm = kpm.contiguous() if kpm.stride(-1) != 1 else kpm
    return kpm, kpm.stride(0), True


def _forward(q, k, v, kpm, causal: bool, scale: float):
    """Launch the forward kernel; returns O (B, H, Lq, D) and LSE (B*H, Lq) in base 2."""
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    o = torch.empty((B, H, Lq, D), device=q.device, dtype=q.dtype)
    lse = torch.empty((B * H, Lq), device=q.device, dtype=torch.float32)
    kpm_t, skpb, has_kpm = _kpm_arg(kpm, q)
    cfg = fwd_config(Lq, Lk, D)
    grid = (triton.cdiv(Lq, cfg["BLOCK_M"]), B * H)
    launch(_attn_fwd_kernel, grid, q, k, v, o, lse, kpm_t,
           *_strides3(q), *_strides3(k), *_strides3(v), *_strides3(o), skpb,
           H, Lq, Lk, scale * _LOG2E,
           CAUSAL=causal, HAS_KPM=has_kpm, **_common(q), **cfg)
    return o, lse


def _backward(do, q, k, v, o, lse, kpm, causal: bool, scale: float):
    """Launch the backward kernels; returns dQ, dK, dV with the inputs' layouts."""
    B, H, Lq, D = q.shape
    Lk = k.shape[2]
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    kpm_t, skpb, has_kpm = _kpm_arg(kpm, q)
    common = dict(CAUSAL=causal, HAS_KPM=has_kpm, **_common(q))
    strides = (*_strides3(q), *_strides3(k), *_strides3(v))
    grad_strides = (*_strides3(dq), *_strides3(dk), *_strides3(dv), skpb)
    if short_bwd_ok(Lq, Lk, D):
        launch(_attn_bwd_short_kernel, (B * H,), q, k, v, o, do, dq, dk, dv, lse, kpm_t,
               *strides, *_strides3(o), *_strides3(do), *grad_strides,
               H, Lq, Lk, scale * _LOG2E, scale, **short_bwd_config(Lq, Lk, D), **common)
        return dq, dk, dv
    delta = torch.empty_like(lse)  # (B*H, Lq)
    bm = min(64, _pow2(Lq))
    launch(_attn_bwd_delta_kernel, (triton.cdiv(Lq, bm), B * H), o, do, delta,
           *_strides3(o), *_strides3(do), H, Lq, HEAD_DIM=D, BLOCK_D=_pow2(D), BLOCK_M=bm,
           interpret=common["interpret"])
    cfg = bwd_config(Lq, Lk, D)
    n_kblocks = triton.cdiv(Lk, cfg["BLOCK_N1"])
    grid = (n_kblocks + triton.cdiv(Lq, cfg["BLOCK_M2"]), B * H)
    launch(_attn_bwd_kernel, grid, q, k, v, do, dq, dk, dv, lse, delta, kpm_t,
           *strides, *_strides3(do), *grad_strides,
           H, Lq, Lk, n_kblocks, scale * _LOG2E, scale, **cfg, **common)
    return dq, dk, dv


class AttentionFunction(torch.autograd.Function):
    """autograd wrapper around the fused forward/backward kernels."""

    @staticmethod
    def forward(ctx, q, k, v, key_padding_mask, causal, scale):
        q, k, v = _unit_last(q), _unit_last(k), _unit_last(v)
        o, lse = _forward(q, k, v, key_padding_mask, causal, scale)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.kpm, ctx.causal, ctx.scale = key_padding_mask, causal, scale
        return o

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        dq, dk, dv = _backward(_unit_last(do), q, k, v, o, lse, ctx.kpm, ctx.causal, ctx.scale)
        return dq, dk, dv, None, None, None


def attention_triton(q, k, v, causal: bool = False, key_padding_mask=None, scale=None):
    """Fused attention. q: (B, H, Lq, D), k/v: (B, H, Lk, D) -> (B, H, Lq, D).

    key_padding_mask: (B, Lk) bool, True = padded key. scale defaults to 1/sqrt(D).
    """
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError("q, k, v must be (B, H, L, D)")
    if k.shape != v.shape or q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(f"shape mismatch: q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    if key_padding_mask is not None and tuple(key_padding_mask.shape) != (k.shape[0], k.shape[2]):
        raise ValueError(f"key_padding_mask must be (B, Lk) = {(k.shape[0], k.shape[2])}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return AttentionFunction.apply(q, k, v, key_padding_mask, bool(causal), scale)
