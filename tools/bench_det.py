"""Detector CPU benchmark: images/s (network forward; the baseline has no trained weights, so its
post-processing would time noise) and peak memory at the default test size, as ratios against a
baseline measured in the same run (FCENet-ResNet50, the paper's backbone, same input).

    python tools/bench_det.py [--model det_default] [--size 1600] [--threads 2] [--seconds 10]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from ocr.pipeline.defaults import DET_SIZE
from ocr.engine.bench_child import peak_rss_mb, run_child


def _measure(spec: str, size: int, threads: int, seconds: float, bf16: bool) -> dict:
    import numpy as np
    import torch

    from ocr.registry import create_model
    from ocr.weights import resolve_model

    torch.set_num_threads(threads)
    try:
        model = resolve_model(spec)
    except Exception:
        model = create_model(spec).eval()
    h = size * 3 // 4 // 32 * 32  # a 4:3 photo, long side = size
    x = torch.from_numpy(np.random.default_rng(0).normal(0, 1, (1, 3, h, size)).astype(np.float32))
    n = 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(x)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds or n < 2:
            model(x)
            n += 1
    dt = time.perf_counter() - t0
    return {"images_per_s": n / dt, "peak_mb": peak_rss_mb()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="det_default")
    p.add_argument("--baseline", default="fcenet_resnet50")
    p.add_argument("--size", type=int, default=DET_SIZE, help="long side of the input (default: the reader's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(_measure(**json.loads(a.child))))
        return 0
    rows = []
    for label, spec, bf16 in (("baseline", a.baseline, False), ("model", a.model, False), ("model", a.model, True)):
        r = run_child(__file__, {"spec": spec, "size": a.size, "threads": a.threads, "seconds": a.seconds, "bf16": bf16})
        rows.append((f"{label} {spec}", "bf16" if bf16 else "fp32", r))
    base = rows[0][2]
    print(f"CPU, {a.threads} threads, input long side {a.size}; ratios against {a.baseline} fp32 (same run)")
    print(f"{'config':<34}{'dtype':>6}{'img/s':>8}{'x base':>8}{'peak MB':>9}{'x base':>8}")
    for name, dtype, r in rows:
        print(f"{name:<34}{dtype:>6}{r['images_per_s']:>8.2f}{r['images_per_s'] / base['images_per_s']:>8.2f}"
              f"{r['peak_mb']:>9.0f}{r['peak_mb'] / base['peak_mb']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
