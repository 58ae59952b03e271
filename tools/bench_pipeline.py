"""Pages per second of the reading pipeline on CPU (or GPU), time split by stage.

    python tools/bench_pipeline.py --photos ../shared/data/ic15_det/images --pages ../shared/data/sroie/images
    python tools/bench_pipeline.py --random          # generated pages, randomly initialised models

For each set (scene photos, scanned pages) it reads up to ``--limit`` images and prints seconds
per page spent in detection, rectification, recognition (width-sorted batches of
``--batch-size``) and layout, pages/s, and the baseline: the same crops recognised one at a time
(batch size 1), measured in the same run, with the speed-up as a ratio.

``--random`` uses untrained ``fcenet_mobilenetv3`` + ``crnn_mobilenet`` (timing only). An untrained
detector finds nothing useful, so for generated pages the known word boxes stand in for its
polygons (marked "oracle boxes" in the table).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocr.pipeline.defaults import DET_SIZE  # noqa: E402
from ocr.pipeline.detect import detect_images  # noqa: E402
from ocr.pipeline.inputs import expand_inputs, load_item  # noqa: E402
from ocr.pipeline.layout import build_lines  # noqa: E402
from ocr.pipeline.recognize import read_crops  # noqa: E402
from ocr.pipeline.rectify import crop_polygon  # noqa: E402
from ocr.types import Word  # noqa: E402


def generated_set(kind: str, n: int, seed: int = 0) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Synthetic pages with their word boxes: ``photo`` (noisy, tilted words) or ``page`` (scan)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        if kind == "photo":
            img = rng.integers(60, 200, (720, 1280, 3), dtype=np.uint8)
            img = cv2.GaussianBlur(img, (31, 31), 0)
            rows, scale, x0 = 8, 1.6, 60
        else:
            img = np.full((1400, 1000, 3), 250, np.uint8)
            rows, scale, x0 = 40, 0.8, 60
        boxes = []
        for r in range(rows):
            x, y = x0, 60 + r * (img.shape[0] - 100) // rows
            while x < img.shape[1] - 200:
                word = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(2, 9))))
                (w, h), base = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
                cv2.putText(img, word, (x, y + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 2)
                boxes.append(np.float32([[x - 2, y - 2], [x + w + 2, y - 2], [x + w + 2, y + h + base + 2],
                                         [x - 2, y + h + base + 2]]))
                x += w + int(rng.integers(15, 40))
        out.append((img, boxes))
    return out


def folder_set(folder: str, n: int) -> list[tuple[np.ndarray, None]]:
    items = [i for i in expand_inputs([folder]) if not i.error][:n]
    return [(load_item(i), None) for i in items]


def bench_set(pages, det, rec, args) -> dict:
    """Seconds per stage over a set of pages, and the batch-size-1 recognition baseline."""
    t = dict(detect=0.0, rectify=0.0, recognize=0.0, layout=0.0, baseline_recognize=0.0)
    oracle, crops_total = False, 0
    for img, boxes in pages:
        t0 = time.perf_counter()
        dets = detect_images(det, [img], args.det_size, 1, args.device)[0]
        t1 = time.perf_counter()
        polys = [d["polygon"] for d in dets][: args.max_regions]
        if not polys and boxes is not None:
            polys, oracle = boxes, True
        crops = [crop_polygon(img, p) for p in polys]
        t2 = time.perf_counter()
        texts = read_crops(rec, crops, args.batch_size, args.device)
        t3 = time.perf_counter()
        build_lines([Word(s or "?", p, c) for (s, c), p in zip(texts, polys)])
        t4 = time.perf_counter()
        read_crops(rec, crops, 1, args.device)
        t5 = time.perf_counter()
        for k, dt in zip(("detect", "rectify", "recognize", "layout", "baseline_recognize"),
                         (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            t[k] += dt
        crops_total += len(crops)
    n = max(1, len(pages))
    res = {k: v / n for k, v in t.items()}
    res.update(pages=len(pages), crops=crops_total / n, oracle=oracle)
    return res


def load_models(args):
    if args.random:
        from ocr.registry import create_model

        torch.manual_seed(0)
        return (create_model("fcenet_mobilenetv3").eval().to(args.device),
                create_model("crnn_mobilenet").eval().to(args.device))
    from ocr.api import load_model
    from ocr.weights import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER

    return load_model(args.det or DEFAULT_DETECTOR, args.device), load_model(args.rec or DEFAULT_RECOGNIZER, args.device)


def print_table(rows: dict) -> None:
    head = f"{'set':<10} {'pages':>5} {'crops/p':>7} {'detect':>8} {'rectify':>8} {'recog':>8} {'layout':>8} " \
           f"{'pages/s':>8} {'bs1 p/s':>8} {'speed-up':>8}"
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        total = r["detect"] + r["rectify"] + r["recognize"] + r["layout"]
        base = total - r["recognize"] + r["baseline_recognize"]
        note = "  (oracle boxes)" if r["oracle"] else ""
        print(f"{name:<10} {r['pages']:>5} {r['crops']:>7.1f} {r['detect']:>7.3f}s {r['rectify']:>7.3f}s "
              f"{r['recognize']:>7.3f}s {r['layout']:>7.3f}s {1 / max(total, 1e-9):>8.2f} "
              f"{1 / max(base, 1e-9):>8.2f} {base / max(total, 1e-9):>7.2f}x{note}")
    print("stage columns: seconds per page; bs1 = the same pipeline recognising one crop at a time")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--photos", help="folder of scene photos (default: generated)")
    p.add_argument("--pages", help="folder of scanned pages (default: generated)")
    p.add_argument("--limit", type=int, default=10, help="images per set")
    p.add_argument("--det"), p.add_argument("--rec")
    p.add_argument("--random", action="store_true", help="untrained models (timing only)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--det-size", type=int, default=DET_SIZE)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-regions", type=int, default=500, help="cap on regions per page")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    det, rec = load_models(args)
    sets = {"photos": folder_set(args.photos, args.limit) if args.photos else generated_set("photo", args.limit),
            "pages": folder_set(args.pages, args.limit) if args.pages else generated_set("page", args.limit, 1)}
    bench_set(sets["photos"][:1], det, rec, args)  # warm-up
    print_table({name: bench_set(pages, det, rec, args) for name, pages in sets.items() if pages})
    return 0


if __name__ == "__main__":
    sys.exit(main())
