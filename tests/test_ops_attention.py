"""ocr.ops.attention: the fused Triton kernel (Triton's CPU interpreter at small sizes, and
CUDA when present) against scaled_dot_product_attention, values and gradients."""
from __future__ import annotations

import pytest
import torch

import ocr.ops
from ocr.ops import attention, attention_reference, dispatch
from tests.helpers import assert_compiles_for_hopper

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")


@pytest.fixture
def triton_cpu(monkeypatch):
    """Let dispatch pick the Triton kernels for CPU tensors (Triton interpreter)."""
    pytest.importorskip("triton")
    from ocr.kernels import can_interpret

    if not can_interpret():
        pytest.skip("this triton cannot run the kernels on CPU (interpreter hooks missing)")
    monkeypatch.delenv("OCR_FORCE_REFERENCE", raising=False)
    monkeypatch.setenv("OCR_TRITON_INTERPRET_OK", "1")
    yield


def _qkv(B, H, Lq, Lk, D, gen, dtype=torch.float32, device="cpu", layout="bhld"):
    """Random q (B, H, Lq, D), k/v (B, H, Lk, D); layout 'blhd' gives transposed views."""
    def make(L):
        if layout == "blhd":
            return torch.randn(B, L, H, D, generator=gen).to(device, dtype).transpose(1, 2)
        return torch.randn(B, H, L, D, generator=gen).to(device, dtype)
    return make(Lq), make(Lk), make(Lk)


def _compare(q, k, v, causal=False, kpm=None, scale=None, atol=2e-5, rtol=1e-4):
    """Outputs and q/k/v gradients of ocr.ops.attention vs the SDPA reference (fp32)."""
    assert ocr.ops.backend_for("attention", q, k, v) == "triton"
    xs = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    ys = [t.detach().float().clone().requires_grad_() for t in (q, k, v)]
    out = attention(*xs, causal=causal, key_padding_mask=kpm, scale=scale)
    ref = attention_reference(*ys, causal=causal, key_padding_mask=kpm, scale=scale)
    assert out.shape == ref.shape and out.dtype == q.dtype
    torch.testing.assert_close(out.float(), ref, atol=atol, rtol=rtol)
    g = torch.randn(ref.shape, generator=torch.Generator().manual_seed(1)).to(q.device)
    out.backward(g.to(out.dtype))
    ref.backward(g)
    for name, a, b in zip("qkv", xs, ys):
        assert a.grad.dtype == q.dtype, name
        torch.testing.assert_close(a.grad.float(), b.grad, atol=atol * 4, rtol=rtol, msg=name)
    return out, xs


@pytest.mark.parametrize("causal", [False, True])
def test_short_sequences(triton_cpu, causal):
    gen = torch.Generator().manual_seed(0)
    _compare(*_qkv(2, 2, 20, 20, 32, gen), causal=causal)


def test_cross_attention_causal_top_left(triton_cpu):
    gen = torch.Generator().manual_seed(1)
    _compare(*_qkv(2, 2, 20, 27, 32, gen), causal=True)
    _compare(*_qkv(1, 2, 27, 20, 32, gen), causal=True)


def test_key_padding_with_fully_masked_rows(triton_cpu):
    gen = torch.Generator().manual_seed(2)
    kpm = torch.zeros(3, 27, dtype=torch.bool)
    kpm[0, 20:] = True
    kpm[1, :] = True  # no keys at all: zeros, zero gradients
    kpm[2, ::3] = True
    out, xs = _compare(*_qkv(3, 2, 20, 27, 32, gen), kpm=kpm, scale=0.3)
    assert (out[1] == 0).all() and (xs[0].grad[1] == 0).all() and (xs[1].grad[1] == 0).all()


def test_general_backward_causal_padding(triton_cpu):
    gen = torch.Generator().manual_seed(3)
    kpm = torch.zeros(2, 70, dtype=torch.bool)
    kpm[0, 50:] = True
    kpm[1, :3] = True  # with causal, queries 0..2 of sample 1 see nothing
    out, _ = _compare(*_qkv(2, 1, 70, 70, 32, gen), causal=True, kpm=kpm)
    assert (out[1, :, :3] == 0).all()


@pytest.mark.parametrize("causal", [False, True])
def test_many_blocks_with_padded_key_blocks(triton_cpu, causal):
    """Several query/key blocks per head: unmasked interior blocks, diagonal blocks, and key
    blocks that are entirely padding (sample 1 keeps 100 of 300 keys)."""
    gen = torch.Generator().manual_seed(8)
    kpm = torch.arange(300)[None] >= torch.tensor([[300], [100]])
    _compare(*_qkv(2, 1, 300, 300, 32, gen), causal=causal, kpm=kpm)
    _compare(*_qkv(1, 1, 300, 300, 32, gen), causal=causal)


def test_long_cross_attention_odd_head_dim(triton_cpu):
    gen = torch.Generator().manual_seed(4)
    _compare(*_qkv(1, 1, 150, 130, 48, gen))


def test_transposed_layout_and_head_dim_128(triton_cpu):
    gen = torch.Generator().manual_seed(5)
    q, k, v = _qkv(2, 2, 24, 17, 128, gen, layout="blhd")
    assert not q.is_contiguous()
    _compare(q, k, v, causal=True)
    _compare(*_qkv(1, 1, 40, 40, 128, gen), kpm=torch.arange(40)[None] >= 33)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(triton_cpu, dtype):
    gen = torch.Generator().manual_seed(6)
    tol = 2e-3 if dtype == torch.float16 else 2e-2
    _compare(*_qkv(1, 2, 20, 20, 64, gen, dtype), causal=True, atol=tol, rtol=tol)


def test_force_reference_env(monkeypatch):
    monkeypatch.setenv("OCR_TRITON_INTERPRET_OK", "1")
    monkeypatch.setenv("OCR_FORCE_REFERENCE", "1")
    q = torch.randn(1, 1, 4, 16)
    assert dispatch.backend_for("attention", q, q, q) == "reference"
    monkeypatch.setattr(dispatch, "triton_importable", lambda: pytest.fail("Triton path used"))
    torch.testing.assert_close(attention(q, q, q), attention_reference(q, q, q))


def test_cpu_default_is_reference(monkeypatch):
    monkeypatch.delenv("OCR_FORCE_REFERENCE", raising=False)
    monkeypatch.delenv("OCR_TRITON_INTERPRET_OK", raising=False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    q = torch.randn(1, 1, 4, 16)
    assert dispatch.backend_for("attention", q, q, q) == "reference"


def test_reference_masked_rows_are_zero_not_nan():
    q = torch.randn(2, 1, 3, 8, requires_grad=True)
    kpm = torch.tensor([[True, True], [False, True]])
    k = torch.randn(2, 1, 2, 8)
    out = attention_reference(q, k, k, key_padding_mask=kpm)
    out.sum().backward()
    assert (out[0] == 0).all() and torch.isfinite(q.grad).all()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("L", [20, 70])
def test_kernels_compile_for_hopper(triton_cpu, monkeypatch, L):
    """Forward and both backward variants compile for sm_90 (no GPU needed)."""
    pytest.importorskip("triton.backends.nvidia")
    import ocr.kernels.attention as A

    launches = []
    monkeypatch.setattr(A, "launch", lambda kernel, grid, *a, **kw: launches.append((kernel, a, kw)))
    q, k, v = (t.to(torch.bfloat16).requires_grad_() for t in _qkv(2, 2, L, L, 32, torch.Generator()))
    kpm = torch.zeros(2, L, dtype=torch.bool)
    A.attention_triton(q, k, v, causal=True, key_padding_mask=kpm).sum().backward()
    assert len(launches) == (2 if L <= 64 else 3)
    assert_compiles_for_hopper(launches)


# ----------------------------------------------------------------------------- CUDA only

@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("shape", [(64, 8, 25, 25, 32), (16, 8, 256, 256, 64), (2, 4, 1024, 1024, 128),
                                   (4, 8, 26, 80, 64)])
def test_cuda_parity(monkeypatch, dtype, shape):
    monkeypatch.delenv("OCR_FORCE_REFERENCE", raising=False)
    gen = torch.Generator().manual_seed(7)
    B, H, Lq, Lk, D = shape
    lengths = torch.randint(1, Lk + 1, (B,), generator=gen)
    kpm = (torch.arange(Lk)[None] >= lengths[:, None]).cuda()
    tol = 2e-2 if dtype == torch.bfloat16 else 4e-3
    for causal, mask in ((False, None), (True, None), (False, kpm), (True, kpm)):
        _compare(*_qkv(B, H, Lq, Lk, D, gen, dtype, "cuda"), causal=causal, kpm=mask, atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("causal", [False, True])
def test_cpu_half_precision_reference_matches_fp32(dtype, causal):
    """On CPU, bf16/fp16 attention runs as two matmuls (faster than SDPA's CPU kernels there):
    values, gradients and fully masked rows as the fp32 SDPA path gives them."""
    gen = torch.Generator().manual_seed(7)
    q, k, v = _qkv(3, 2, 9, 6, 16, gen)
    kpm = torch.tensor([[False] * 6, [False, False, True, True, True, True], [True] * 6])
    xs = [t.to(dtype).requires_grad_() for t in (q, k, v)]
    ys = [t.clone().requires_grad_() for t in (q, k, v)]
    out = attention_reference(*xs, causal=causal, key_padding_mask=kpm)
    ref = attention_reference(*ys, causal=causal, key_padding_mask=kpm)
    assert out.dtype == dtype and (out[2] == 0).all()
    torch.testing.assert_close(out.float(), ref, atol=3e-2, rtol=3e-2)
    g = torch.randn(ref.shape, generator=gen)
    out.backward(g.to(dtype))
    ref.backward(g)
    for name, a, b in zip("qkv", xs, ys):
        assert torch.isfinite(a.grad).all(), name
        torch.testing.assert_close(a.grad.float(), b.grad, atol=6e-2, rtol=6e-2, msg=name)
    unmasked = attention_reference(*(t.detach().to(dtype) for t in (q, k, v)), causal=causal)
    torch.testing.assert_close(unmasked.float(), attention_reference(q, k, v, causal=causal), atol=3e-2, rtol=3e-2)
