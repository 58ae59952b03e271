#!/usr/bin/env python3
"""Benchmark the Triton kernels of ocr.ops against PyTorch on a CUDA GPU.

    python tools/bench_kernels.py [--out DIR] [--only ctc|attention] [--reps N]

CTC: ocr.ops.ctc_loss vs torch.nn.functional.ctc_loss, both its cuDNN path (fp32, blank 0,
int32 concatenated targets on the CPU, full-length inputs, targets < 256) and its native
path (int64 padded targets on the GPU).  Attention: ocr.ops.attention vs
scaled_dot_product_attention with the flash backend (fp16/bf16, no mask).  Forward and
forward+backward times (forward = training forward, grad enabled), speed-ups (torch time /
ours) and achieved GB/s (CTC: log-probs read + gradient written) or TFLOP/s (attention).
Writes DIR/bench_kernels.md, .csv and, when matplotlib is installed, .png.  ``--smoke`` runs tiny shapes on the CPU through the Triton
interpreter to check the script itself (its numbers mean nothing).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

CTC_SHAPES = [  # (T, B, C, S): recognition crops, then CJK vocabularies
    (25, 64, 97, 10), (32, 128, 97, 16), (64, 256, 97, 25),
    (40, 128, 6625, 20), (64, 256, 7000, 30), (64, 64, 7000, 40),
]
CTC_LONG_SHAPES = [(800, 16, 7000, 300)]  # targets > 256: cuDNN refuses
ATTN_SHAPES = [  # (B, H, L, D, causal): rec decoders, backbone grids, pages
    (256, 8, 25, 32, False), (128, 8, 25, 64, True), (128, 8, 64, 64, False),
    (64, 8, 64, 64, True), (32, 8, 256, 64, False), (32, 8, 256, 32, False),
    (16, 8, 256, 128, False), (8, 8, 1024, 64, False), (4, 8, 2048, 64, True),
    (2, 8, 4096, 64, False), (2, 8, 4096, 128, False), (1, 16, 4096, 128, True),
]
SMOKE_CTC = [(6, 2, 9, 3)]
SMOKE_ATTN = [(1, 2, 20, 32, False)]


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(fn, device, reps: int) -> float:
    """Median milliseconds of ``fn()`` after warm-up (CUDA events on GPU)."""
    for _ in range(3):
        fn()
    _sync(device)
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


_GRADS: dict = {}


def _grad_like(out: torch.Tensor) -> torch.Tensor:
    """A fixed random output gradient per (shape, dtype, device)."""
    key = (tuple(out.shape), out.dtype, out.device)
    if key not in _GRADS:
        _GRADS[key] = torch.ones_like(out) if out.dim() == 0 else torch.randn_like(out)
    return _GRADS[key]


def _fwd_bwd(loss_fn, inputs):
    """A closure running forward then backward (torch.autograd.grad: nothing accumulates)."""
    def run():
        out = loss_fn()
        torch.autograd.grad(out, inputs, _grad_like(out))
    return run


def ctc_rows(device, reps, shapes, long_shapes):
    """Timings of ocr.ops.ctc_loss against torch's cuDNN and native CTC paths."""
    from ocr.ops import ctc_loss

    rows, gen = [], torch.Generator().manual_seed(0)
    for (T, B, C, S), cudnn_ok in [(s, True) for s in shapes] + [(s, False) for s in long_shapes]:
        lp = torch.randn(T, B, C, generator=gen).log_softmax(-1).to(device).requires_grad_()
        tgt_len = torch.randint(max(1, S // 2), S + 1, (B,), generator=gen)
        padded = torch.randint(1, C, (B, S), generator=gen)
        concat = torch.cat([padded[b, :tgt_len[b]] for b in range(B)]).to(torch.int32)
        in_len = [T] * B
        padded_dev, tl_dev = padded.to(device), tgt_len.to(device)
        in_dev = torch.full((B,), T, dtype=torch.long, device=device)
        ours = lambda: ctc_loss(lp, padded_dev, in_dev, tl_dev)  # noqa: E731
        native = lambda: F.ctc_loss(lp, padded_dev, in_dev, tl_dev)  # noqa: E731
        cudnn = lambda: F.ctc_loss(lp, concat, in_len, tgt_len.tolist())  # noqa: E731
        gbytes = 2 * lp.numel() * lp.element_size() / 1e9  # read log-probs + write grad
        for mode in ("fwd", "fwd+bwd"):
            timed = {}
            for name, fn in (("ours", ours), ("native", native), ("cudnn", cudnn if cudnn_ok else None)):
                if fn is None:
                    continue
                call = fn if mode == "fwd" else _fwd_bwd(fn, (lp,))
                timed[name] = bench(call, device, reps)  # fwd = training forward (grad on)
            rows.append(dict(op="ctc", shape=f"T={T} B={B} C={C} S={S}", mode=mode,
                             ours_ms=timed["ours"], native_ms=timed["native"],
                             cudnn_ms=timed.get("cudnn"),
                             x_native=timed["native"] / timed["ours"],
                             x_cudnn=(timed["cudnn"] / timed["ours"]) if "cudnn" in timed else None,
                             rate=f"{gbytes / (timed['ours'] / 1e3):.0f} GB/s" if mode != "fwd" else ""))
    return rows


def _sdpa_flash(q, k, v, causal):
    """SDPA restricted to the flash backend (falls back to the default when unavailable)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def attention_rows(device, reps, shapes, dtype):
    """Timings of ocr.ops.attention against SDPA (flash backend)."""
    from ocr.ops import attention

    rows, gen = [], torch.Generator().manual_seed(0)
    for B, H, L, D, causal in shapes:
        q, k, v = (torch.randn(B, H, L, D, generator=gen).to(device, dtype).requires_grad_()
                   for _ in range(3))
        ours = lambda: attention(q, k, v, causal=causal)  # noqa: E731
        flash = lambda: _sdpa_flash(q, k, v, causal)  # noqa: E731
        flops = 4 * B * H * L * L * D * (0.5 if causal else 1.0)
        for mode, mult in (("fwd", 1.0), ("fwd+bwd", 3.5)):
            timed = {}
            for name, fn in (("ours", ours), ("flash", flash)):
                call = fn if mode == "fwd" else _fwd_bwd(fn, (q, k, v))
                timed[name] = bench(call, device, reps)
            shape = f"B={B} H={H} L={L} D={D}" + (" causal" if causal else "")
            rows.append(dict(op="attention", shape=shape,
                             mode=mode, ours_ms=timed["ours"], flash_ms=timed["flash"],
                             x_flash=timed["flash"] / timed["ours"],
                             rate=f"{flops * mult / (timed['ours'] / 1e3) / 1e12:.1f} TFLOP/s"))
    return rows


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_table(rows, out_dir) -> str:
    """Markdown table (also printed) and a CSV of all rows."""
    cols = ["op", "shape", "mode", "ours_ms", "native_ms", "cudnn_ms", "flash_ms",
            "x_native", "x_cudnn", "x_flash", "rate"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    text = "\n".join(lines)
    with open(os.path.join(out_dir, "bench_kernels.md"), "w") as f:
        f.write("x_* = torch time / ours (higher is better)\n\n" + text + "\n")
    with open(os.path.join(out_dir, "bench_kernels.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=cols)
        writer.writeheader()
        writer.writerows({c: r.get(c) for c in cols} for r in rows)
    return text


def write_plot(rows, out_dir) -> None:
    """Bar chart of speed-ups per shape (skipped without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
        return
    series = [("x_native", "vs torch native CTC"), ("x_cudnn", "vs torch cuDNN CTC"),
              ("x_flash", "vs SDPA flash")]
    fig, axes = plt.subplots(len(series), 1, figsize=(12, 4 * len(series)))
    for ax, (key, title) in zip(axes, series):
        picked = [r for r in rows if r.get(key) is not None]
        ax.bar(range(len(picked)), [r[key] for r in picked])
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(range(len(picked)), [f"{r['shape']}\n{r['mode']}" for r in picked],
                      rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("speed-up (x)")
        ax.set_title(title)
    fig.tight_layout()
    path = os.path.join(out_dir, "bench_kernels.png")
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench_out", help="output folder (default: bench_out)")
    parser.add_argument("--only", choices=["ctc", "attention"], help="benchmark one op only")
    parser.add_argument("--reps", type=int, default=20, help="timed repetitions per case")
    parser.add_argument("--dtype", choices=["fp16", "bf16"], default="bf16", help="attention dtype")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny CPU run (Triton interpreter) to test the script itself")
    args = parser.parse_args(argv)
    if args.smoke:
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # interpreter inf arithmetic
        os.environ["OCR_TRITON_INTERPRET_OK"] = "1"
        device, args.reps = torch.device("cpu"), 2
        ctc_shapes, long_shapes, attn_shapes = SMOKE_CTC, [], SMOKE_ATTN
    elif not torch.cuda.is_available():
        print("bench_kernels: no CUDA device found; this benchmark needs an NVIDIA GPU "
              "(use --smoke for a CPU check of the script).", file=sys.stderr)
        return 2
    else:
        device = torch.device("cuda")
        ctc_shapes, long_shapes, attn_shapes = CTC_SHAPES, CTC_LONG_SHAPES, ATTN_SHAPES
        print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    os.environ.pop("OCR_FORCE_REFERENCE", None)
    os.makedirs(args.out, exist_ok=True)
    dtype = torch.float16 if args.dtype == "fp16" else torch.bfloat16
    rows = []
    if args.only in (None, "ctc"):
        rows += ctc_rows(device, args.reps, ctc_shapes, long_shapes)
    if args.only in (None, "attention"):
        rows += attention_rows(device, args.reps, attn_shapes, dtype)
    print(write_table(rows, args.out))
    write_plot(rows, args.out)
    print(f"results: {os.path.join(args.out, 'bench_kernels.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
