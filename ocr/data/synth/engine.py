"""Multi-process generation of synthetic samples into LMDB stores.

Sample ``i`` (1-based, as stored) is drawn with ``numpy.random.default_rng([seed, i])`` so a store
is identical for any number of workers. Workers build their generator once (fonts are discovered
in the parent and inherited) and return encoded samples in index order to the parent, which is
the only writer.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..lmdb_store import DET_SCHEMA, LmdbWriter
from .fonts import FontPool, discover_fonts

KINDS = ("crops", "scenes", "pages")
_GEN = None  # per-process generator


def make_generator(kind: str, seed: int, fonts: FontPool | None = None, **opts):
    """The generator object for ``kind`` (``crops``/``scenes``/``pages``)."""
    if kind == "crops":
        from .crops import CropGenerator
        return CropGenerator(seed=seed, fonts=fonts, **opts)
    if kind == "scenes":
        from .scenes import SceneGenerator
        return SceneGenerator(seed=seed, fonts=fonts, **opts)
    if kind == "pages":
        from .pages import PageGenerator
        return PageGenerator(seed=seed, fonts=fonts, **opts)
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of sample ``index`` of a run with ``seed``."""
    return np.random.default_rng([int(seed), int(index)])


def make_sample(gen, seed: int, index: int):
    """(image RGB uint8, label str or annotation dict) of sample ``index``."""
    return gen.make(sample_rng(seed, index))


def encode_sample(gen, seed: int, index: int, quality: int = 90):
    """(JPEG bytes, label) of sample ``index``."""
    from .crops import encode_jpeg
    img, label = make_sample(gen, seed, index)
    return encode_jpeg(img, quality), label


def _init(kind, seed, fonts, opts):
    global _GEN
    import cv2
    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would oversubscribe
    _GEN = make_generator(kind, seed, FontPool(fonts), **opts)


def _work(args):
    seed, indices = args
    return [encode_sample(_GEN, seed, i) for i in indices]


def generate(kind: str, out: str | os.PathLike, num: int, seed: int = 0, workers: int = 1,
             overwrite: bool = False, chunk: int = 32, log=sys.stderr, **opts) -> dict:
    """Write ``num`` samples of ``kind`` to the LMDB at ``out``; returns {"num", "seconds", "per_s"}."""
    fonts = discover_fonts()
    schema = None if kind == "crops" else DET_SCHEMA
    chunks = [(seed, range(a, min(a + chunk, num + 1))) for a in range(1, num + 1, chunk)]
    t0 = time.time()
    done = 0
    with LmdbWriter(out, schema=schema, overwrite=overwrite) as writer:
        if workers <= 1:
            _init(kind, seed, fonts, opts)
            results = map(_work, chunks)
            pool = None
        else:
            pool = mp.get_context("fork").Pool(workers, _init, (kind, seed, fonts, opts))
            results = pool.imap(_work, chunks)
        try:
            last = t0
            for batch in results:
                for img, label in batch:
                    writer.add(img, label)
                done += len(batch)
                now = time.time()
                if log and (now - last > 5 or done == num):
                    last = now
                    print(f"{kind}: {done}/{num} ({done / max(now - t0, 1e-9):.1f}/s)", file=log, flush=True)
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    dt = time.time() - t0
    return {"num": num, "seconds": dt, "per_s": num / max(dt, 1e-9), "path": str(Path(out))}


def real_crops(store: str | os.PathLike, n: int, seed: int = 0) -> list[tuple[np.ndarray, str]]:
    """``n`` random (RGB image, label) crops of a recognition store (chosen by ``seed``)."""
    from ..images import decode_image
    from ..lmdb_store import LmdbReader
    reader = LmdbReader(store)
    picks = np.random.default_rng(seed).choice(len(reader), min(n, len(reader)), replace=False) + 1
    out = []
    for i in sorted(int(i) for i in picks):
        data, label = reader.get(i)
        out.append((decode_image(data, f"{reader.path}#{i}"), label))
    return out


def save_grid(kind: str, path: str | os.PathLike, seed: int = 0, n: int = 48, real: str | None = None,
              **opts) -> Path:
    """A PNG grid of the first ``n`` samples of a run (identical to the stored ones) with their
    labels (crops) or drawn polygons (scenes/pages), for judging realism by eye; with ``real`` (a
    recognition store) crops are shown beside as many real ones."""
    from .grid import compare_grid, crop_grid, det_grid
    gen = make_generator(kind, seed, None, **opts)
    samples = [make_sample(gen, seed, i) for i in range(1, n + 1)]
    if real:
        img = compare_grid(samples, real_crops(real, n, seed))
    else:
        img = crop_grid(samples) if kind == "crops" else det_grid(samples)
    img.save(path)
    return Path(path)
