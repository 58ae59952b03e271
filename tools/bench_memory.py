"""Resident memory over a long batch: does ``ocr read`` stay flat from page 10 to page N?

    python tools/bench_memory.py --images ../shared/data/sroie/images --pages 150
    python tools/bench_memory.py --random --pages 40        # generated pages, untrained models

Reads ``--pages`` pages in one process the way ``ocr read`` does (``Reader.read_batch`` on chunks
of 8 inputs; the images of ``--images`` repeated when there are fewer), and prints the resident set
size (RSS) after the chunk that holds page ``--first`` (10) and after the last page, their ratio,
and the peak RSS (``getrusage``, within chunks too). ``--random`` uses
untrained ``fcenet_mobilenetv3`` + ``crnn_mobilenet`` on generated pages of varied sizes; an
untrained detector finds arbitrary regions, which is enough to exercise every stage's memory.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from profile_read import add_reader_args, make_reader  # noqa: E402  (the same reader, random or shipped models)

CHUNK = 8  # as ``ocr read`` (ocr.read_cli.PAGE_CHUNK)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def max_rss_mb() -> float:
    """The process's peak RSS so far (within chunks too), where the system tells it."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    except (ImportError, OSError):
        return 0.0


def generated_pages(n: int, seed: int = 0):
    """``n`` RGB pages of varied sizes with dark word-like bars (distinct sizes stress the allocator)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        h, w = int(rng.integers(300, 1100)), int(rng.integers(300, 1100))
        img = np.full((h, w, 3), 245, np.uint8)
        for _ in range(int(rng.integers(5, 40))):
            x, y = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 20))
            img[y:y + int(rng.integers(8, 20)), x:x + int(rng.integers(20, 200))] = int(rng.integers(0, 80))
        out.append(img)
    return out


def run(args) -> dict:
    from ocr.pipeline.inputs import expand_inputs

    reader = make_reader(args)
    if args.images:
        items = [i for i in expand_inputs(args.images) if not i.error]
        if not items:
            raise SystemExit(f"no images in {' '.join(args.images)}")
    else:
        items = generated_pages(min(args.pages, args.distinct))
    todo = [items[k % len(items)] for k in range(args.pages)]
    marks, peak, done = {}, 0.0, 0
    for start in range(0, len(todo), CHUNK):
        part = todo[start:start + CHUNK]
        pages = reader.read_batch(part, errors="return", chunk=len(part))
        done += len(pages)
        now = rss_mb()
        peak = max(peak, now)
        marks[done] = now
        if args.verbose:
            print(f"page {done:>5}: RSS {now:8.1f} MB", file=sys.stderr, flush=True)
    first = min((k for k in marks if k >= args.first), default=max(marks))
    last = max(marks)
    return {"pages": last, "first_page": first, "rss_first_mb": round(marks[first], 1),
            "rss_last_mb": round(marks[last], 1), "ratio": round(marks[last] / marks[first], 3),
            "peak_mb": round(max(peak, max_rss_mb()), 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", nargs="*", help="image files or folders (repeated up to --pages)")
    p.add_argument("--pages", type=int, default=150)
    p.add_argument("--first", type=int, default=10, help="page whose RSS is the reference")
    p.add_argument("--distinct", type=int, default=50, help="generated pages: how many different ones")
    add_reader_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    p.add_argument("--verbose", action="store_true", help="RSS after every chunk, on standard error")
    args = p.parse_args(argv)
    r = run(args)
    if args.json:
        print(json.dumps(r))
    else:
        print(f"RSS after page {r['first_page']}: {r['rss_first_mb']:.1f} MB; after page {r['pages']}: "
              f"{r['rss_last_mb']:.1f} MB; ratio {r['ratio']:.3f}; peak {r['peak_mb']:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
