"""Pages per second and peak memory of the reading pipeline, for each backend and precision.

    python tools/bench_pipeline.py --pages ../shared/data/sroie/images --photos ../shared/data/ic15_det/images
    python tools/bench_pipeline.py                     # generated pages and photos
    python tools/bench_pipeline.py --configs torch:fp32,onnxruntime:int8

Each configuration runs in its own process (``Reader(backend=..., precision=...)`` with the
shipped models, or ``--det``/``--rec``): it loads the models, reads one page to warm up (building
the ONNX file on first use), then reads every page of each set once with ``Reader.read_batch``.
The table gives seconds per page in the detector's and the recognizer's forward passes and in the
rest of the pipeline (decoding, rectification, orientation, layout), pages/s, peak resident
memory, and both as ratios against torch fp32 measured in the same run. ``auto`` is what ``ocr
read`` uses by default.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONFIGS = "torch:fp32,torch:bf16,onnxruntime:fp32,onnxruntime:int8,auto:auto"


def generated_set(kind: str, n: int, seed: int = 0) -> list[np.ndarray]:
    """Synthetic images: ``photo`` (noisy background, big words) or ``page`` (a dense scan)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        if kind == "photo":
            img = cv2.GaussianBlur(rng.integers(60, 200, (720, 1280, 3), dtype=np.uint8), (31, 31), 0)
            rows, scale, x0 = 8, 1.6, 60
        else:
            img = np.full((1400, 1000, 3), 250, np.uint8)
            rows, scale, x0 = 40, 0.8, 60
        for r in range(rows):
            x, y = x0, 60 + r * (img.shape[0] - 100) // rows
            while x < img.shape[1] - 200:
                word = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(2, 9))))
                (w, h), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
                cv2.putText(img, word, (x, y + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 2)
                x += w + int(rng.integers(15, 40))
        out.append(img)
    return out


def load_set(folder: str | None, kind: str, n: int) -> list[np.ndarray]:
    if folder is None:
        return generated_set(kind, n, seed=0 if kind == "photo" else 1)
    from ocr.pipeline.inputs import expand_inputs, load_item

    return [load_item(i) for i in [i for i in expand_inputs([folder]) if not i.error][:n]]


class _Timed:
    """Adds the seconds a model's forward pass takes to ``totals[key]``."""

    def __init__(self, model, totals: dict, key: str):
        self.model, self.totals, self.key = model, totals, key

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, *args, **kwargs):
        t = time.perf_counter()
        out = self.model(*args, **kwargs)
        self.totals[self.key] += time.perf_counter() - t
        return out


def child(args: dict) -> dict:
    """One configuration: seconds per page by stage, pages/s and peak memory for each set."""
    import torch

    from ocr.api import Reader
    from ocr.engine.bench_child import peak_rss_mb

    if args["threads"]:
        torch.set_num_threads(args["threads"])
    sets = {name: load_set(folder, kind, args["limit"]) for name, folder, kind in args["sets"]}
    backend, precision = args["config"].split(":")
    reader = Reader(det=args["det"], rec=args["rec"], backend=backend, precision=precision, device="cpu")
    reader.read_batch(next(s for s in sets.values() if s)[:1])  # load, build, warm up
    totals = {"det": 0.0, "rec": 0.0}
    reader._det, reader._rec = _Timed(reader.detector, totals, "det"), _Timed(reader.recognizer, totals, "rec")
    out = {"resolved": f"{getattr(reader._det.model, 'backend', 'torch')}:{getattr(reader._det.model, 'precision', 'fp32')}"
                       f" / {getattr(reader._rec.model, 'backend', 'torch')}:{getattr(reader._rec.model, 'precision', 'fp32')}"}
    for name, images in sets.items():
        totals.update(det=0.0, rec=0.0)
        t = time.perf_counter()
        pages = reader.read_batch(images)
        wall = time.perf_counter() - t
        n = max(1, len(images))
        out[name] = {"pages": len(images), "wall": wall / n, "det": totals["det"] / n, "rec": totals["rec"] / n,
                     "words": sum(len(ln.words) for p in pages for ln in p.lines) / n}
    out["peak_mb"] = peak_rss_mb()
    return out


def print_table(results: dict, set_names: list[str]) -> None:
    base = results.get("torch:fp32")
    head = (f"{'config':<18} {'det/rec run as':<34} {'set':<7} {'pages':>5} {'words/p':>7} {'det':>7} {'rec':>7} "
            f"{'rest':>7} {'pages/s':>8} {'x fp32':>7} {'peak MB':>8} {'x fp32':>7}")
    print(head)
    print("-" * len(head))
    for config, r in results.items():
        for name in set_names:
            s = r[name]
            speed = 1 / max(s["wall"], 1e-9)
            ratio = f"{base[name]['wall'] / s['wall']:.2f}" if base else "-"
            mem = f"{r['peak_mb'] / base['peak_mb']:.2f}" if base else "-"
            print(f"{config:<18} {r['resolved']:<34} {name:<7} {s['pages']:>5} {s['words']:>7.1f} {s['det']:>6.3f}s "
                  f"{s['rec']:>6.3f}s {s['wall'] - s['det'] - s['rec']:>6.3f}s {speed:>8.2f} {ratio:>7} "
                  f"{r['peak_mb']:>8.0f} {mem:>7}")
    print("det/rec/rest: seconds per page in the detector's and recognizer's forward passes and the rest of the"
          " pipeline; x fp32: ratio against torch:fp32 (speed: higher is faster; memory: lower is smaller)")


def main(argv=None) -> int:
    from ocr.engine.bench_child import run_child

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pages", help="folder of scanned pages (default: generated)")
    p.add_argument("--photos", help="folder of scene photos (default: generated)")
    p.add_argument("--limit", type=int, default=10, help="images per set")
    p.add_argument("--det"), p.add_argument("--rec")
    p.add_argument("--configs", default=CONFIGS, help=f"backend:precision list (default {CONFIGS})")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(child(json.loads(a.child))))
        return 0
    sets = [["pages", a.pages, "page"], ["photos", a.photos, "photo"]]
    results = {}
    for config in a.configs.split(","):
        results[config] = run_child(__file__, {"config": config, "sets": sets, "limit": a.limit, "det": a.det,
                                               "rec": a.rec, "threads": a.threads})
        print(f"{config}: done", file=sys.stderr)
    print_table(results, [s[0] for s in sets])
    return 0


if __name__ == "__main__":
    sys.exit(main())
