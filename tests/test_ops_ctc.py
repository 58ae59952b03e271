"""ocr.ops.ctc_loss: the Triton kernel (run by Triton's CPU interpreter at small sizes, and
on CUDA when present) against torch.nn.functional.ctc_loss, values and gradients."""
from __future__ import annotations

import warnings

import pytest
import torch

import ocr.ops
from ocr.ops import ctc_loss, ctc_loss_reference, dispatch
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
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # numpy inf arithmetic
    yield


def _targets(B, S, C, blank, gen):
    """(B, S) random labels in [0, C) \\ {blank}."""
    classes = torch.tensor([c for c in range(C) if c != blank])
    return classes[torch.randint(0, len(classes), (B, S), generator=gen)]


def _compare(log_probs, targets, in_len, tgt_len, blank=0, reduction="mean", zero_infinity=False,
             atol=1e-5, rtol=1e-4, grad_atol=1e-5):
    """Loss and d(loss . w)/d(log_probs) of ocr.ops.ctc_loss vs the reference."""
    assert ocr.ops.backend_for("ctc_loss", log_probs) == "triton"
    x1 = log_probs.detach().clone().requires_grad_()
    x2 = log_probs.detach().float().clone().requires_grad_()
    out = ctc_loss(x1, targets, in_len, tgt_len, blank, reduction, zero_infinity)
    ref = ctc_loss_reference(x2, targets, in_len, tgt_len, blank, reduction, zero_infinity)
    assert out.shape == ref.shape and out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=atol, rtol=rtol)
    w = torch.rand(ref.shape, generator=torch.Generator().manual_seed(1)) + 0.5
    (out * w.to(out.device)).sum().backward()
    (ref * w.to(ref.device)).sum().backward()
    assert x1.grad.dtype == log_probs.dtype and x1.grad.shape == log_probs.shape
    torch.testing.assert_close(x1.grad.float(), x2.grad, atol=grad_atol, rtol=rtol, equal_nan=True)
    return out, x1.grad


def _log_probs(T, B, C, gen, dtype=torch.float32, device="cpu"):
    """(T, B, C) log-softmax of random logits."""
    return torch.randn(T, B, C, generator=gen).mul(2).log_softmax(-1).to(device=device, dtype=dtype)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_ragged_padded_targets(triton_cpu, reduction):
    gen = torch.Generator().manual_seed(0)
    T, B, C, S = 12, 4, 7, 5
    in_len = torch.tensor([12, 9, 7, 12])
    tgt_len = torch.tensor([5, 3, 1, 4])
    _compare(_log_probs(T, B, C, gen), _targets(B, S, C, 0, gen), in_len, tgt_len, reduction=reduction)


def test_concatenated_int32_targets_blank_last_lists(triton_cpu):
    gen = torch.Generator().manual_seed(1)
    T, B, C = 10, 3, 6
    tgt_len = [3, 1, 4]
    targets = _targets(1, sum(tgt_len), C, C - 1, gen)[0].to(torch.int32)
    _compare(_log_probs(T, B, C, gen), targets, [10, 8, 10], tgt_len, blank=C - 1, reduction="none")


def test_repeated_labels_and_length_one(triton_cpu):
    gen = torch.Generator().manual_seed(2)
    targets = torch.tensor([[1, 1, 1, 2], [2, 2, 3, 0], [3, 0, 0, 0], [1, 2, 1, 2]])
    tgt_len = torch.tensor([4, 3, 1, 4])
    in_len = torch.tensor([9, 6, 1, 9])
    _compare(_log_probs(9, 4, 4, gen), targets, in_len, tgt_len, reduction="sum")


def test_blank_in_the_middle_and_empty_target(triton_cpu):
    gen = torch.Generator().manual_seed(3)
    targets = torch.tensor([[1, 4, 0], [0, 0, 0], [4, 4, 1]])  # blank = 2
    _compare(_log_probs(7, 3, 5, gen), targets, [7, 5, 7], [3, 0, 3], blank=2, reduction="mean")


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_infeasible_alignments(triton_cpu, zero_infinity, reduction):
    gen = torch.Generator().manual_seed(4)
    targets = torch.tensor([[1, 1, 1], [1, 2, 3], [2, 2, 0]])
    in_len = torch.tensor([4, 6, 2])  # sample 0 needs 5 frames, sample 2 needs 3
    out, grad = _compare(_log_probs(6, 3, 4, gen), targets, in_len, torch.tensor([3, 3, 2]),
                         reduction=reduction, zero_infinity=zero_infinity)
    if zero_infinity:
        assert torch.isfinite(out).all() and (grad[:, 0] == 0).all() and (grad[:, 2] == 0).all()
    else:
        assert torch.isinf(out).any() and torch.isnan(grad[:4, 0]).all()
        assert torch.isfinite(grad[:, 1]).all()


def test_transposed_log_probs_and_no_grad(triton_cpu):
    gen = torch.Generator().manual_seed(5)
    lp = torch.randn(3, 8, 6, generator=gen).log_softmax(-1).transpose(0, 1)  # (T, B, C) view
    assert not lp.is_contiguous()
    targets, in_len, tgt_len = _targets(3, 3, 6, 0, gen), [8, 7, 8], [3, 2, 1]
    _compare(lp, targets, in_len, tgt_len)
    with torch.no_grad():
        out = ctc_loss(lp, targets, in_len, tgt_len, reduction="none")
    torch.testing.assert_close(out, ctc_loss_reference(lp, targets, in_len, tgt_len, reduction="none"))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs(triton_cpu, dtype):
    gen = torch.Generator().manual_seed(6)
    lp = _log_probs(8, 3, 9, gen, dtype)
    _compare(lp, _targets(3, 4, 9, 0, gen), [8, 6, 8], [4, 2, 3], atol=1e-4, rtol=1e-3,
             grad_atol=2e-3 if dtype == torch.bfloat16 else 3e-4)


def test_vocabulary_wider_than_one_block(triton_cpu):
    gen = torch.Generator().manual_seed(7)
    _compare(_log_probs(4, 2, 2100, gen), _targets(2, 2, 2100, 0, gen), [4, 3], [2, 1], reduction="sum")


def test_target_longer_than_256(triton_cpu):
    gen = torch.Generator().manual_seed(8)
    S, T = 257, 262
    targets = (torch.arange(S) % 4 + 1)[None]  # no adjacent repeats: T >= S suffices
    lp = _log_probs(T, 1, 5, gen)
    _compare(lp, targets, [T], [S], atol=1e-4, rtol=1e-4)


def test_force_reference_env(monkeypatch):
    monkeypatch.setenv("OCR_TRITON_INTERPRET_OK", "1")
    monkeypatch.setenv("OCR_FORCE_REFERENCE", "1")
    lp = torch.randn(5, 2, 4).log_softmax(-1)
    assert dispatch.backend_for("ctc_loss", lp) == "reference"
    import ocr.ops.ctc as ctc_mod

    def boom(*args, **kwargs):
        raise AssertionError("Triton path used despite OCR_FORCE_REFERENCE=1")

    monkeypatch.setattr(dispatch, "triton_importable", boom)  # never asked when forced
    targets = torch.tensor([[1, 2], [3, 0]])
    out = ctc_mod.ctc_loss(lp, targets, [5, 5], [2, 1])
    torch.testing.assert_close(out, ctc_loss_reference(lp, targets, [5, 5], [2, 1]))


def test_cpu_default_is_reference(monkeypatch):
    monkeypatch.delenv("OCR_FORCE_REFERENCE", raising=False)
    monkeypatch.delenv("OCR_TRITON_INTERPRET_OK", raising=False)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert dispatch.backend_for("ctc_loss", torch.zeros(1)) == "reference"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_kernels_compile_for_hopper(triton_cpu, monkeypatch):
    """Both kernels compile for sm_90 (no GPU needed): guards GPU-only compile errors."""
    pytest.importorskip("triton.backends.nvidia")
    import ocr.kernels.ctc_loss as K

    launches = []
    monkeypatch.setattr(K, "launch", lambda kernel, grid, *a, **kw: launches.append((kernel, a, kw)))
    lp = torch.randn(6, 2, 40).log_softmax(-1).to(torch.float16).requires_grad_()
    K.ctc_loss_triton(lp, torch.tensor([[1, 2, 2], [3, 0, 0]]), [6, 5], [3, 1]).backward()
    assert [k.__name__ for k, _, _ in launches] == ["_ctc_fwd_kernel", "_ctc_grad_kernel"]
    assert_compiles_for_hopper(launches)


# ----------------------------------------------------------------------------- CUDA only

@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cuda_parity_rec_shapes(monkeypatch, dtype):
    monkeypatch.delenv("OCR_FORCE_REFERENCE", raising=False)
    gen = torch.Generator().manual_seed(9)
    T, B, C, S = 40, 64, 97, 25
    lp = _log_probs(T, B, C, gen, dtype, "cuda")
    in_len = torch.randint(30, T + 1, (B,), generator=gen)
    tgt_len = torch.randint(1, S + 1, (B,), generator=gen)
    tol = dict(atol=1e-4, rtol=1e-4, grad_atol=1e-5) if dtype == torch.float32 else \
        dict(atol=1e-3, rtol=1e-3, grad_atol=1e-2)
    for zi in (False, True):
        _compare(lp, _targets(B, S, C, 0, gen).cuda(), in_len.cuda(), tgt_len.cuda(),
                 zero_infinity=zi, **tol)


@needs_cuda
def test_cuda_large_vocab_long_targets(monkeypatch):
    monkeypatch.delenv("OCR_FORCE_REFERENCE", raising=False)
    gen = torch.Generator().manual_seed(10)
    T, B, C, S = 700, 4, 7000, 300
    lp = _log_probs(T, B, C, gen, torch.float32, "cuda")
    tgt_len = torch.tensor([300, 257, 40, 1])
    targets = _targets(B, S, C, 0, gen)
    for blank in (0, C - 1):
        targets = torch.where(targets == blank, 1, targets)
        _compare(lp, targets.cuda(), torch.tensor([700, 650, 300, 5]), tgt_len, blank=blank,
                 reduction="none", atol=1e-3, rtol=1e-4, grad_atol=1e-5)
