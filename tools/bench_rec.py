"""Recognizer CPU benchmark: crops/s at batch 1 and batched, and peak memory, each printed as a
ratio against a baseline measured in the same run (the classic CRNN-VGG at batch 1, fp32).

Crops go through ``recognize_crops``, the reader's own path (resizing, the grey read after each
crop, packed BiLSTM where the model has one, CTC decoding), so the numbers are what users get.

    python tools/bench_rec.py [--model rec_default [rec_cppd ...]] [--threads 2] [--seconds 5]
                              [--backend onnxruntime --precision int8] [--data data/real/ic15_word/val]

``--data STORE`` times real crops (the store's first 256 in turn) instead of random 32 x ``--width``
ones: a decoder that stops at the end of a word (LISTER) reads as many steps as real words take.

``--backend onnxruntime`` times the models as ``ocr read`` runs them by default (ONNX Runtime, the
recognizer in int8 with ``--precision int8``); the baseline always runs in PyTorch fp32.

Each configuration runs in its own process so that peak memory (max RSS) is its own.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from ocr.engine.bench_child import peak_rss_mb, run_child


def _crops(h: int, width: int, batch: int, data: str | None) -> list:
    """Random ``h`` x ``width`` crops, or the first (up to) 256 crops of a recognition store."""
    import numpy as np

    if not data:
        return [np.random.default_rng(i).integers(0, 256, (h, width, 3), dtype=np.uint8) for i in range(batch)]
    from ocr.data.images import decode_image
    from ocr.data.lmdb_store import LmdbReader

    reader = LmdbReader(data)
    return [decode_image(reader.get(i)[0]) for i in range(1, min(len(reader), max(256, batch)) + 1)]


def _measure(spec: str, batch: int, width: int, threads: int, seconds: float, bf16: bool,
             backend: str = "torch", precision: str = "fp32", data: str | None = None) -> dict:
    import numpy as np
    import torch

    from ocr.pipeline.recognize import recognize_crops
    from ocr.registry import create_model
    from ocr.runtime import load, with_backend  # ONNX Runtime takes PyTorch's thread count

    torch.set_num_threads(threads)
    try:
        model = load(spec, backend=backend, precision=precision)
    except Exception:  # an architecture name: random weights time the same
        model = with_backend(create_model(spec).eval(), backend, precision)
    h = int(model.config.img_height)
    crops = _crops(h, width, batch, data)
    n, t0 = 0, time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        recognize_crops(model, crops[:batch], batch)  # warm-up
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:  # the pool's crops in turn, ``batch`` at a time
            chunk = [crops[(n + i) % len(crops)] for i in range(batch)]
            recognize_crops(model, chunk, batch)
            n += batch
    dt = time.perf_counter() - t0
    return {"crops_per_s": n / dt, "peak_mb": peak_rss_mb()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", default=["rec_default"], help="shipped names, weight files or architectures")
    p.add_argument("--baseline", default="crnn_vgg")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--width", type=int, default=128, help="crop width at height 32 (a word)")
    p.add_argument("--data", help="a recognition store: time its first 256 real crops in turn instead of "
                                  "random ones (a decoder that stops at the end of a word reads fewer steps)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch", help="how the models run")
    p.add_argument("--precision", choices=("fp32", "int8"), default="fp32", help="onnxruntime: fp32 or int8")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(_measure(**json.loads(a.child))))
        return 0
    torch_run = a.backend == "torch"
    runs = [("baseline", a.baseline, 1, False, "torch", "fp32")]
    for spec in a.model:
        runs += [("model", spec, 1, False, a.backend, a.precision), ("model", spec, a.batch, False, a.backend, a.precision)]
        runs += [("model", spec, a.batch, True, "torch", "fp32")] if torch_run else []
    rows = []
    for label, spec, batch, bf16, backend, precision in runs:
        r = run_child(__file__, {"spec": spec, "batch": batch, "width": a.width, "threads": a.threads,
                                 "seconds": a.seconds, "bf16": bf16, "backend": backend, "precision": precision,
                                 "data": a.data})
        dtype = "bf16" if bf16 else (precision if backend == "torch" else f"ort-{precision}")
        rows.append((f"{label} {spec}", batch, dtype, r))
    base = rows[0][3]
    crops = f"the crops of {a.data}" if a.data else f"crops 32x{a.width}"
    print(f"CPU, {a.threads} threads, {crops}; ratios against {a.baseline} batch 1 fp32 (same run)")
    print(f"{'config':<34}{'batch':>6}{'dtype':>10}{'crops/s':>10}{'x base':>8}{'peak MB':>9}{'x base':>8}")
    for name, batch, dtype, r in rows:
        print(f"{name:<34}{batch:>6}{dtype:>10}{r['crops_per_s']:>10.1f}{r['crops_per_s'] / base['crops_per_s']:>8.2f}"
              f"{r['peak_mb']:>9.0f}{r['peak_mb'] / base['peak_mb']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
