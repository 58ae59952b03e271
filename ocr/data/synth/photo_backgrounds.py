"""Real photo backgrounds: text-free patches cut from the training scene photos.

``build_pool`` reads detection stores (the training splits ``data/real/ic15_det/train`` and
``data/real/ic13_det/train`` that tools/prepare_data.sh builds, so no validation photo is used),
masks every annotated word polygon (don't-care ones included) with a margin that grows with the
word's height, removes the text with ``cv2.inpaint`` and cuts random patches that stay clear of
large words (inpainting leaves legible ghosts of those) and hold little inpainted area. The
patches are written as JPEG files with a ``manifest.tsv`` (source store, sample, box).

``PhotoPool`` loads a pool's JPEG bytes once per process and cuts (h, w) backgrounds from them;
``crop(rng, h, w)`` depends on ``rng`` alone, so synthetic samples stay deterministic per
(seed, index).
"""
from __future__ import annotations

import multiprocessing as mp
import shutil
from pathlib import Path

import cv2
import numpy as np

from ..lmdb_store import LmdbReader

BIG_TEXT = 0.035  # words taller than this fraction of the image height: no patch may touch them
MAX_INPAINTED = 0.2  # the most inpainted area a patch may hold
PATCH_H = (32, 160)  # patch heights (px) before the image-size scaling
PATCH_ASPECT = (1.5, 7.0)


def word_height(poly: np.ndarray) -> float:
    """The short side of a word polygon's minimum-area rectangle."""
    (_, _), (w, h), _ = cv2.minAreaRect(poly.astype(np.float32))
    return float(min(w, h))


def text_masks(shape, polygons) -> tuple[np.ndarray, np.ndarray]:
    """(mask of all text to inpaint, mask of big text to keep away from), uint8 0/255, each
    polygon widened by a margin of a third of its height (loose quads, anti-aliased edges)."""
    h = shape[0]
    allm, big = np.zeros(shape[:2], np.uint8), np.zeros(shape[:2], np.uint8)
    for p in polygons:
        pts = np.round(np.asarray(p, np.float64)).astype(np.int32).reshape(-1, 1, 2)
        th = word_height(pts)
        for m in (allm, big) if th > BIG_TEXT * h else (allm,):
            cv2.fillPoly(m, [pts], 255)
            cv2.polylines(m, [pts], True, 255, max(3, int(round(th * 0.66))))
    return cv2.dilate(allm, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))), big


def remove_text(img: np.ndarray, polygons, radius: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inpainted BGR image, text mask, big-text mask) of a BGR image and its word polygons."""
    mask, big = text_masks(img.shape, polygons)
    out = cv2.inpaint(img, mask, radius, cv2.INPAINT_TELEA) if mask.any() else img.copy()
    return out, mask, big


def cut_patches(rng: np.random.Generator, img, mask, big, n: int, tries: int = 40) -> list[tuple]:
    """Up to ``n`` boxes (x, y, w, h) that miss ``big`` and hold at most MAX_INPAINTED of ``mask``."""
    ih, iw = img.shape[:2]
    scale = max(ih, iw) / 1280
    integ_m, integ_b = cv2.integral(mask // 255), cv2.integral(big // 255)
    boxes = []
    for _ in range(tries):
        ph = int(np.clip(rng.uniform(*PATCH_H) * scale, 16, ih))
        pw = int(min(iw, ph * np.exp(rng.uniform(*np.log(PATCH_ASPECT)))))
        if pw < 2 * ph // 3 + 8:
            continue
        x, y = int(rng.integers(iw - pw + 1)), int(rng.integers(ih - ph + 1))
        area = lambda s: int(s[y + ph, x + pw] - s[y, x + pw] - s[y + ph, x] + s[y, x])  # noqa: E731
        if area(integ_b) == 0 and area(integ_m) <= MAX_INPAINTED * ph * pw:
            boxes.append((x, y, pw, ph))
            if len(boxes) == n:
                break
    return boxes


def _store_items(stores) -> list[tuple[str, int]]:
    return [(str(s), i) for s in stores for i in range(1, len(LmdbReader(s)) + 1)]


def _patches_of(args) -> list[tuple[bytes, str]]:
    """(JPEG bytes, manifest line) of the patches of one store sample."""
    seed, k, (store, index), per_image = args
    reader = LmdbReader(store)
    data, _ = reader.get(index)
    ann = reader.annotation(index)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    polys = [w["polygon"] for w in ann.get("words", []) + ann.get("lines", [])]
    clean, mask, big = remove_text(img, polys)
    out = []
    for x, y, w, h in cut_patches(np.random.default_rng([seed, k]), clean, mask, big, per_image):
        ok, buf = cv2.imencode(".jpg", clean[y:y + h, x:x + w], [cv2.IMWRITE_JPEG_QUALITY, 95])
        out.append((buf.tobytes(), f"{store}\t{index}\t{x},{y},{w},{h}"))
    return out


def build_pool(stores, out, per_image: int = 12, seed: int = 0, workers: int = 1) -> int:
    """Write the patches of every sample of the detection ``stores`` to the folder ``out``
    (``NNNNNN.jpg`` + ``manifest.tsv``; written beside it and renamed when complete); returns the
    number of patches. Same pool for any ``workers``."""
    final, out = Path(out), Path(f"{out}.partial")
    if final.exists():
        raise FileExistsError(f"{final} exists")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    jobs = [(seed, k, item, per_image) for k, item in enumerate(_store_items(stores))]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(_patches_of, jobs, chunksize=4)
    else:
        results = map(_patches_of, jobs)
    lines = ["file\tstore\tsample\tbox"]
    for data, line in (p for r in results for p in r):
        name = f"{len(lines):06d}.jpg"
        (out / name).write_bytes(data)
        lines.append(f"{name}\t{line}")
    (out / "manifest.tsv").write_text("\n".join(lines) + "\n")
    out.rename(final)
    return len(lines) - 1


class PhotoPool:
    """The patches of a pool folder, kept as JPEG bytes and decoded when cut."""

    def __init__(self, folder):
        files = sorted(Path(folder).glob("*.jpg"))
        if not files:
            raise FileNotFoundError(f"{folder}: no photo-background pool (build it with "
                                    "tools/synth.py photo-bg, see tools/prepare_data.sh)")
        self.folder = str(folder)
        self.patches = [f.read_bytes() for f in files]

    def __len__(self) -> int:
        return len(self.patches)

    def crop(self, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
        """An (h, w, 3) float32 RGB background: a random window of a random patch with the
        aspect h:w (a half to all of the patch's height), resized, sometimes mirrored."""
        buf = np.frombuffer(self.patches[int(rng.integers(len(self.patches)))], np.uint8)
        p = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        ph, pw = p.shape[:2]
        ch = max(1.0, min(ph * rng.uniform(0.5, 1.0), pw * h / w))
        cw = min(pw, max(1, int(round(ch * w / h))))
        ch = max(1, int(round(ch)))
        y, x = int(rng.integers(ph - ch + 1)), int(rng.integers(pw - cw + 1))
        win = p[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            win = win[:, ::-1]
        interp = cv2.INTER_AREA if ch > h else cv2.INTER_CUBIC
        return np.clip(cv2.resize(win, (w, h), interpolation=interp).astype(np.float32), 0, 255)
