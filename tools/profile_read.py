"""Where ``ocr read`` and ``ocr recognize`` spend their time: seconds per pipeline stage, and the
top torch operators.

    python tools/profile_read.py --images ../shared/data/sroie/images --limit 10
    python tools/profile_read.py --images a.jpg b.png --recognize crops/ --limit 50
    python tools/profile_read.py --random --limit 2          # generated pages, untrained models

Pages go through ``Reader.read_batch`` in chunks of 8 (as ``ocr read`` does) with timers around
the stages: load (decode the file), detect forward, detect postprocess, orientation (the page-turn
check; the recognizer passes it makes are listed under it), crop/rectify, recognize forward,
decode (the recognizer's postprocess), layout (lines and reading order). Each stage's time is its
own, with the stages nested in it taken out, so the rows add up to the total; a nested stage is
shown as ``outer > inner``. ``--recognize DIR`` also profiles ``Reader.recognize`` on a folder of
crops (``ocr recognize``; the detector passes that straighten tilted words are under
``straighten``). Then the same inputs run again under ``torch.profiler`` (``--ops-limit`` of
them) and its ``key_averages`` table prints the ``--top`` operators by their own CPU time.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHUNK = 8  # as ``ocr read`` (ocr.read_cli.PAGE_CHUNK)


class StageTimer:
    """Exclusive wall time per stage path; nested stages are subtracted from their parent."""

    def __init__(self):
        self.own: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list] = []  # [label, start, time spent in children]

    @contextmanager
    def stage(self, name: str):
        label = f"{self._stack[-1][0]} > {name}" if self._stack else name
        frame = [label, time.perf_counter(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            spent = time.perf_counter() - frame[1]
            self.own[label] += spent - frame[2]
            self.calls[label] += 1
            if self._stack:
                self._stack[-1][2] += spent

    def wrap(self, name: str, fn):
        def timed(*a, **kw):
            with self.stage(name):
                return fn(*a, **kw)

        timed.__wrapped__ = fn
        return timed

    def table(self, title: str, items: int, unit: str) -> str:
        total = sum(self.own.values())
        rows = [f"{title}: {items} {unit}, {total:.3f} s in all, {items / max(total, 1e-9):.2f} {unit}/s",
                f"{'stage':<44}{'calls':>7}{'seconds':>10}{'share':>8}{'ms/' + unit[:-1]:>12}"]
        for label, secs in sorted(self.own.items(), key=lambda kv: -kv[1]):
            rows.append(f"{label:<44}{self.calls[label]:>7}{secs:>10.3f}{secs / max(total, 1e-9):>8.1%}"
                        f"{1000 * secs / max(items, 1):>12.1f}")
        return "\n".join(rows)


def instrument(timer: StageTimer, reader) -> list:
    """Put timers around the reader's stages; returns undo actions."""
    import ocr.api as api
    import ocr.pipeline.recognize as rec_mod

    undo = []

    def patch(obj, attr, name):
        old = getattr(obj, attr)
        setattr(obj, attr, timer.wrap(name, old))
        undo.append(lambda: setattr(obj, attr, old))

    def patch_model(model, prefix):
        for attr, name in (("forward", f"{prefix} forward"),
                           ("postprocess", "decode" if prefix == "recognize" else f"{prefix} postprocess")):
            setattr(model, attr, timer.wrap(name, getattr(model, attr)))
            undo.append(lambda m=model, a=attr: m.__dict__.pop(a, None))

    patch(api, "load_image", "load")
    patch(api, "load_item", "load")
    patch(api, "orient_pages", "orientation")
    patch(api, "crop_polygon", "crop/rectify")
    patch(api, "build_lines", "layout")
    for attr in ("straighten_batch", "straightened"):  # whichever this version of the pipeline has
        if hasattr(rec_mod, attr):
            patch(rec_mod, attr, "straighten")
    patch_model(reader.detector, "detect")
    patch_model(reader.recognizer, "recognize")
    return undo


def add_reader_args(p) -> None:
    """The options ``make_reader`` reads (this tool's and tools/bench_memory.py's)."""
    from ocr.runtime import add_backend_args

    p.add_argument("--random", action="store_true", help="untrained models on generated pages (timing only)")
    p.add_argument("--det"), p.add_argument("--rec")
    p.add_argument("--det-size", default="1600", help="a number or auto")
    p.add_argument("--device", default="cpu")
    add_backend_args(p)


def make_reader(args):
    from ocr.api import Reader

    det_size = args.det_size if args.det_size == "auto" else int(args.det_size)
    if args.random:
        import torch

        from ocr.registry import create_model

        torch.manual_seed(0)
        return Reader(det=create_model("fcenet_mobilenetv3").eval(), rec=create_model("crnn_mobilenet").eval(),
                      device=args.device, det_size=det_size, backend=args.backend, precision=args.precision)
    return Reader(det=args.det, rec=args.rec, device=args.device, det_size=det_size, backend=args.backend,
                  precision=args.precision)


def generated_inputs(n: int) -> list:
    """Encoded PNG pages with dark word-like bars (``--random`` without ``--images``)."""
    import numpy as np

    from ocr.pipeline.inputs import encode_png

    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        img = np.full((int(rng.integers(300, 700)), int(rng.integers(300, 700)), 3), 245, np.uint8)
        for _ in range(12):
            x, y = int(rng.integers(0, img.shape[1] - 120)), int(rng.integers(0, img.shape[0] - 20))
            img[y:y + 14, x:x + int(rng.integers(30, 120))] = 30
        out.append(encode_png(img))
    return out


def read_pages(reader, items) -> int:
    n = 0
    for start in range(0, len(items), CHUNK):
        n += len(reader.read_batch(items[start:start + CHUNK], errors="return", chunk=CHUNK))
    return n


def recognize_crops_of(reader, items, timer: StageTimer | None = None) -> int:
    from ocr.pipeline.inputs import load_item

    if timer is not None:
        with timer.stage("load"):
            crops = [load_item(i) for i in items]
    else:
        crops = [load_item(i) for i in items]
    for start in range(0, len(crops), reader.batch_size * 4):  # as ``ocr recognize``
        reader.recognize(crops[start:start + reader.batch_size * 4])
    return len(crops)


def op_table(fn, top: int) -> str:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", nargs="*", default=[], help="page images: files, folders, @lists")
    p.add_argument("--recognize", nargs="*", default=[], help="crop images (files or folders) for `ocr recognize`")
    p.add_argument("--limit", type=int, default=10, help="at most this many pages (and crops: 10x)")
    p.add_argument("--ops-limit", type=int, default=2, help="pages (crops: 10x) run again under torch.profiler")
    p.add_argument("--top", type=int, default=15, help="operators in the torch.profiler table")
    p.add_argument("--no-ops", action="store_true", help="skip the torch.profiler pass")
    add_reader_args(p)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = p.parse_args(argv)
    import torch

    from ocr.pipeline.inputs import expand_inputs

    if args.threads:
        torch.set_num_threads(args.threads)
    reader = make_reader(args)
    reader.detector, reader.recognizer  # load before timing  # noqa: B018
    if args.images:
        pages = [i for i in expand_inputs(args.images) if not i.error][:args.limit]
    elif args.random:
        pages = generated_inputs(args.limit)
    elif not args.recognize:
        p.error("give --images (or --recognize), or --random for generated pages")
    else:
        pages = []
    crops = [i for i in expand_inputs(args.recognize) if not i.error][:args.limit * 10] if args.recognize else []
    if pages:
        read_pages(reader, pages[:1])  # warm-up
    elif crops:
        recognize_crops_of(reader, crops[:2])
    if pages:
        timer = StageTimer()
        undo = instrument(timer, reader)
        try:
            n = read_pages(reader, pages)
        finally:
            for u in undo:
                u()
        print(timer.table("ocr read", n, "pages"))
        if not args.no_ops:
            print(f"\ntorch operators, ocr read on {min(args.ops_limit, len(pages))} pages:")
            print(op_table(lambda: read_pages(reader, pages[:args.ops_limit]), args.top))
    if crops:
        timer = StageTimer()
        undo = instrument(timer, reader)
        try:
            n = recognize_crops_of(reader, crops, timer)
        finally:
            for u in undo:
                u()
        print(("\n" if pages else "") + timer.table("ocr recognize", n, "crops"))
        if not args.no_ops:
            k = min(args.ops_limit * 10, len(crops))
            print(f"\ntorch operators, ocr recognize on {k} crops:")
            print(op_table(lambda: recognize_crops_of(reader, crops[:k]), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
