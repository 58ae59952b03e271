#!/usr/bin/env python3
"""Generate synthetic OCR data into LMDB stores.

  python tools/synth.py crops  --out data/synth_crops  --num 200000 --seed 0 --workers 2
  python tools/synth.py scenes --out data/synth_scenes --num 5000   --seed 0 --workers 2
  python tools/synth.py pages  --out data/synth_pages  --num 2000   --seed 0 --workers 2
  python tools/synth.py crops  --geometry scene --out data/synth_crops_scene --num 100000 --seed 1
  python tools/synth.py crops  --grid crops.png   # contact sheet only (add --out to also write)
  python tools/synth.py photo-bg --out data/synth/photo_bg --stores data/real/ic15_det/train data/real/ic13_det/train
  python tools/synth.py crops  --photo-bg data/synth/photo_bg --out data/synth/crops_photo_s2 --num 100000 --seed 2
  python tools/synth.py crops  --photo-bg data/synth/photo_bg --photo-p 1 --grid /tmp/photo_bg_grid.png \
      --grid-n 24 --grid-real data/real/ic15_word/train   # synthetic crops beside real ones

photo-bg builds the pool of text-free photo patches from detection stores (training splits only).

Sample i is drawn from rng(seed, i): the same store for any --workers.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ocr.data.synth import KINDS, generate, save_grid  # noqa: E402
from ocr.data.synth.crops import GEOMETRIES, PHOTO_P  # noqa: E402
from ocr.data.synth.photo_backgrounds import build_pool  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=KINDS + ("photo-bg",))
    p.add_argument("--out", help="LMDB path to write")
    p.add_argument("--num", type=int, default=1000, help="number of samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)))
    p.add_argument("--overwrite", action="store_true", help="replace an existing store")
    p.add_argument("--geometry", choices=sorted(GEOMETRIES), default="plain",
                   help="crops: how far text is bent and turned (scene: curved, tilted, foreshortened)")
    p.add_argument("--photo-bg", help="crops: photo-background pool folder (tools/synth.py photo-bg)")
    p.add_argument("--photo-p", type=float, default=PHOTO_P, help="crops: share drawn on photo backgrounds")
    p.add_argument("--stores", nargs="+", help="photo-bg: detection stores to cut patches from (training splits)")
    p.add_argument("--grid", help="also write a PNG contact sheet of the first samples")
    p.add_argument("--grid-n", type=int, default=0, help="samples in the grid (default 60 crops / 9 images)")
    p.add_argument("--grid-real", help="crops: a recognition store whose crops the grid shows beside")
    a = p.parse_args(argv)
    if a.kind == "photo-bg":
        if not a.out or not a.stores:
            p.error("photo-bg needs --out and --stores")
        try:
            print(f"wrote {build_pool(a.stores, a.out, seed=a.seed, workers=a.workers)} patches to {a.out}")
        except FileExistsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    if not a.out and not a.grid:
        p.error("nothing to do: pass --out and/or --grid")
    if a.num < 1:
        p.error("--num must be >= 1")
    opts = {"geometry": a.geometry, "photo_bg": a.photo_bg, "photo_p": a.photo_p} if a.kind == "crops" else {}
    if a.grid:
        n = a.grid_n or (60 if a.kind == "crops" else 9)
        print(f"grid: {save_grid(a.kind, a.grid, seed=a.seed, n=n, real=a.grid_real, **opts)}")
    if a.out:
        try:
            r = generate(a.kind, a.out, a.num, seed=a.seed, workers=a.workers, overwrite=a.overwrite, **opts)
        except FileExistsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"wrote {r['num']} {a.kind} to {r['path']} in {r['seconds']:.1f}s "
              f"({r['per_s']:.1f} {a.kind}/s, {a.workers} workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
