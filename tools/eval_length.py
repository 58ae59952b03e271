"""Length benchmark: accuracy (36-char protocol) and 1-NED per label-length bin, for any number of
recognizers side by side, and a PNG of accuracy against length.

The set is fixed: real line crops (the SROIE and FUNSD val stores, sampled with a fixed seed;
a missing store is skipped with a note) and deterministic synthetic lines (``ocr.data.synth``,
fixed seed), up to ``--limit`` crops per bin and source. Crops are read as ``ocr eval
--no-straighten`` reads them.

    python tools/eval_length.py --rec rec_default --rec runs/rec_lister/rec_lister.safetensors [--limit 100]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from ocr.engine import metrics

BINS = ((2, 10), (11, 25), (26, 40), (41, 80))
REAL = ("data/real/sroie_crops/val", "data/real/funsd_crops/val")
COLORS = ((200, 80, 30), (40, 140, 40), (30, 30, 200), (150, 40, 150), (20, 150, 200), (90, 90, 90))  # BGR


def bin_of(n: int) -> int | None:
    return next((k for k, (lo, hi) in enumerate(BINS) if lo <= n <= hi), None)


def real_crops(stores, limit: int, seed: int) -> list[tuple[np.ndarray, str, str]]:
    """(RGB crop, label, "real") for up to ``limit`` crops per bin, drawn from ``stores`` in a
    fixed random order."""
    from ocr.data.lmdb_store import LmdbReader

    out, count = [], [0] * len(BINS)
    for store in stores:
        if not Path(store).exists():
            print(f"eval_length: {store} not found: no real crops from it", file=sys.stderr)
            continue
        reader = LmdbReader(store)
        labels = reader.labels()
        for i in np.random.default_rng(seed).permutation(len(labels)):
            k = bin_of(len(labels[i]))
            if k is None or count[k] >= limit:
                continue
            img = cv2.imdecode(np.frombuffer(reader.get(int(i) + 1)[0], np.uint8), cv2.IMREAD_COLOR)  # keys from 1
            if img is not None:
                out.append((img[:, :, ::-1], labels[i], "real"))
                count[k] += 1
    return out


def synth_text(source, rng, n: int) -> str:
    """A label of exactly ``n`` characters: sampled lines joined, cut, never ending in a space."""
    text = source.sample(rng)
    while len(text) < n:
        text += " " + source.sample(rng)
    text = text[:n]
    return text[:-1] + "." if text.endswith(" ") else text


def synth_crops(limit: int, seed: int) -> list[tuple[np.ndarray, str, str]]:
    """(RGB crop, label, "synth"): ``limit`` plain synthetic lines per bin, lengths drawn in it."""
    from ocr.data.synth import CropGenerator, TextSource, sample_rng

    gen, source = CropGenerator(seed=seed), TextSource()
    out = []
    for k, (lo, hi) in enumerate(BINS):
        for j in range(limit):
            rng = sample_rng(seed, 100_000 * k + j)
            img, label = gen.make(rng, synth_text(source, rng, int(rng.integers(lo, hi + 1))))
            out.append((img, label, "synth"))
    return out


def score(preds: list[str], crops) -> dict[tuple[str, int], tuple[int, float, float]]:
    """(source, bin) -> (n, accuracy, 1-NED), with source "all" over both."""
    out = {}
    for src in ("real", "synth", "all"):
        for k in range(len(BINS)):
            sel = [i for i, (_, g, s) in enumerate(crops) if bin_of(len(g)) == k and src in (s, "all")]
            p, g = [preds[i] for i in sel], [crops[i][1] for i in sel]
            out[src, k] = (len(sel), metrics.word_accuracy(p, g), metrics.one_minus_ned(p, g))
    return out


def table(results: dict[str, dict]) -> str:
    names = list(results)
    head = f"{'bin':<8}{'source':<8}{'n':>6}" + "".join(f"{Path(n).stem[:22]:>24}" for n in names)
    lines = [head, f"{'':<22}" + "".join(f"{'acc':>12}{'1-NED':>12}" for _ in names)]
    first = results[names[0]]
    for src in ("real", "synth", "all"):
        for k, (lo, hi) in enumerate(BINS):
            n = first[src, k][0]
            if n:
                cells = "".join(f"{results[m][src, k][1]:>12.3f}{results[m][src, k][2]:>12.3f}" for m in names)
                lines.append(f"{f'{lo}-{hi}':<8}{src:<8}{n:>6}" + cells)
    return "\n".join(lines)


def plot(results: dict[str, dict], path: str | Path, size=(720, 440)) -> Path:
    """Accuracy (all sources) against length bin, one line per recognizer (OpenCV drawing)."""
    w, h = size
    x0, x1, y0, y1 = 70, w - 200, 40, h - 60
    img = np.full((h, w, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for v in np.linspace(0, 1, 6):
        y = int(y1 - v * (y1 - y0))
        cv2.line(img, (x0, y), (x1, y), (225, 225, 225), 1)
        cv2.putText(img, f"{v:.1f}", (x0 - 45, y + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    xs = [int(x0 + (k + 0.5) * (x1 - x0) / len(BINS)) for k in range(len(BINS))]
    for x, (lo, hi) in zip(xs, BINS):
        cv2.putText(img, f"{lo}-{hi}", (x - 22, y1 + 22), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    cv2.putText(img, "accuracy (acc36) by label length (characters)", (x0, 25), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    for m, (name, res) in enumerate(results.items()):
        color = COLORS[m % len(COLORS)]
        pts = [(x, int(y1 - res["all", k][1] * (y1 - y0))) for k, x in enumerate(xs) if res["all", k][0]]
        cv2.polylines(img, [np.array(pts, np.int32)], False, color, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 4, color, -1, cv2.LINE_AA)
        cv2.putText(img, Path(name).stem[:22], (x1 + 12, y0 + 20 + 22 * m), font, 0.45, color, 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    return path


def main(argv=None) -> int:
    from ocr.pipeline.recognize import read_crops
    from ocr.runtime import add_backend_args, load, resolve_backend

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rec", action="append", required=True, help="shipped name or weight file (repeat)")
    p.add_argument("--real", action="append", help=f"real crop stores (default: {', '.join(REAL)})")
    p.add_argument("--limit", type=int, default=200, help="crops per bin and source")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--plot", default="eval_length.png", help="PNG of accuracy against length")
    add_backend_args(p)
    args = p.parse_args(argv)
    crops = real_crops(args.real or REAL, args.limit, args.seed) + synth_crops(args.limit, args.seed)
    results = {}
    for spec in args.rec:
        backend, precision = resolve_backend(args.backend, args.precision, "recognition", "cpu")
        model = load(spec, "cpu", backend, precision)
        preds = [t for t, _ in read_crops(model, [c for c, _, _ in crops], args.batch_size)]
        results[spec] = score(preds, crops)
    print(table(results))
    print(f"plot: {plot(results, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
