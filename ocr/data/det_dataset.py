"""Text-detection dataset over ``ocr-det-v1`` LMDB stores (see datasets/README.md).

Training samples: ``(image (3, S, S) float32, {"p3": (3 + 2(2k+1), S/8, S/8), ...})`` after
polygon-aware augmentation and FCE target generation. Evaluation samples: the whole image resized
(``test_side`` to ``test_size``, aspect kept), ``(image (3, H', W'), meta)`` with ``meta`` holding
the scale factors, original size and ground truth. :func:`collate` batches either kind.

Granularity per store: ``"words"`` (default; a store with lines only uses its lines),
``"lines"`` (lines; words if there are none) or ``"split_lines"`` (words; a store with lines only
has each line cut into approximate word polygons by character proportion along the line, e.g.
SROIE receipts).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .det_transforms import AugmentConfig, DetAugment, normalize_image, resize_for_test
from ocr.geometry import resample_polyline

from .fce_targets import LEVEL_RANGES, FCETargetGenerator, find_sidelines
from .images import decode_image
from .lmdb_store import LmdbError, LmdbReader
from .skipping import load_first_readable

log = logging.getLogger(__name__)

GRANULARITIES = ("words", "lines", "split_lines")


# ----------------------------------------------------------------------------- annotations
def split_line(poly: np.ndarray, text: str) -> list[tuple[np.ndarray, str]]:
    """Cut a line polygon into word polygons, each word taking the share of the line's length
    that its characters take of the text (spaces included). Falls back to the whole line."""
    text = text.strip()
    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    if len(words) <= 1:
        return [(poly, text)]
    try:
        top, bottom = find_sidelines(poly)
    except (ValueError, IndexError):
        return [(poly, text)]
    n = len(text)
    out = []
    for a, b, word in words:
        t0, t1 = a / n, b / n
        seg_top, seg_bot = _sub_line(top, t0, t1), _sub_line(bottom, t0, t1)
        out.append((np.concatenate([seg_top, seg_bot[::-1]]).astype(np.float32), word))
    return out


def _sub_line(line: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """The part of an open polyline between arc-length fractions ``t0 < t1``, inner vertices kept."""
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)]) / max(seg.sum(), 1e-9)
    ends = resample_polyline(line, 2, t0, t1)
    inner = line[(cum > t0) & (cum < t1)]
    return np.concatenate([ends[:1], inner, ends[1:]])


def parse_annotation(ann: dict, granularity: str = "words") -> tuple[list, list, list]:
    """JSON annotation -> (polygons (N, 2) float32, ignore flags, texts)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}; use one of {GRANULARITIES}")
    words, lines = ann.get("words") or [], ann.get("lines") or []
    if granularity == "lines":
        items, split = (lines or words), False
    else:
        items, split = (words, False) if words else (lines, granularity == "split_lines")
    polys, ignore, texts = [], [], []
    for item in items:
        pts = np.asarray(item.get("polygon", []), np.float32).reshape(-1, 2)
        if len(pts) < 3 or not np.isfinite(pts).all():
            continue
        text = item.get("text", "") or ""
        ig = bool(item.get("ignore", False)) or text == "###"
        parts = split_line(pts, text) if split and not ig and len(pts) >= 4 else [(pts, text)]
        for p, t in parts:
            polys.append(p)
            ignore.append(ig)
            texts.append(t)
    return polys, ignore, texts


# ----------------------------------------------------------------------------- dataset
_READERS: dict[str, LmdbReader] = {}


def _shared_reader(path) -> LmdbReader:
    """One reader per store and process: LMDB refuses to open an environment twice in a process
    (e.g. a train and an eval dataset over the same store)."""
    key = str(Path(path).resolve())
    if key not in _READERS:
        _READERS[key] = LmdbReader(path)
    return _READERS[key]


class DetLmdbDataset(Dataset):
    """Detection samples from one or more LMDB stores (concatenated).

    Args:
        paths: one store path or a list of them.
        train: augmented square crops with FCE targets; else whole resized images with metadata.
        image_size: training crop side S (a multiple of 32).
        fourier_degree, scales, level_ranges, center_ratio: FCE target settings (match the model).
        granularity: "words" | "lines" | "split_lines", or one per store.
        augment: augmentation settings (its ``size`` is replaced by ``image_size``).
        test_size, test_side, test_max_size: evaluation resize (``test_side`` "long" or "short").
        seed: augmentation seed; sample ``i`` drawn at stream position ``draw`` uses (seed, draw).
    """

    def __init__(self, paths, train: bool, image_size: int = 640, fourier_degree: int = 5,
                 scales: Sequence[int] = (8, 16, 32), level_ranges=LEVEL_RANGES, center_ratio: float = 0.3,
                 granularity: str | Sequence[str] = "words", augment: AugmentConfig | None = None,
                 test_size: int = 1024, test_side: str = "long", test_max_size: int | None = None,
                 seed: int = 0):
        paths = [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") else list(paths)
        self.readers = [_shared_reader(p) for p in paths]
        modes = [granularity] * len(paths) if isinstance(granularity, str) else list(granularity)
        if len(modes) != len(paths) or any(m not in GRANULARITIES for m in modes):
            raise ValueError(f"granularity must be one of {GRANULARITIES} or one per store; got {granularity!r}")
        self.modes = modes
        self.offsets = np.cumsum([0] + [len(r) for r in self.readers])
        self.train, self.image_size, self.seed = train, image_size, seed
        if train and image_size % 32:
            raise ValueError(f"image_size must be a multiple of 32, got {image_size}")
        cfg = augment or AugmentConfig()
        self.augment = DetAugment(dataclasses.replace(cfg, size=image_size))
        self.targets = FCETargetGenerator(fourier_degree, tuple(scales), tuple(level_ranges), center_ratio)
        self.test_size, self.test_side, self.test_max_size = test_size, test_side, test_max_size
        self.corrupt = 0

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, i: int) -> tuple[int, int]:
        """Dataset index -> (store number, 1-based key in that store)."""
        s = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return s, i - int(self.offsets[s]) + 1

    def load(self, i: int) -> tuple[np.ndarray, list, list, list]:
        """Decoded RGB image, polygons (stored-image pixels), ignore flags and texts of sample i."""
        s, key = self.locate(i)
        reader = self.readers[s]
        data, label = reader.get(key)
        name = f"{reader.path}#{key}"
        image = decode_image(data, name)
        try:
            ann = json.loads(label)
        except ValueError:
            raise LmdbError(f"{name}: annotation is not valid JSON") from None
        polys, ignore, texts = parse_annotation(ann, self.modes[s])
        h, w = image.shape[:2]
        aw, ah = ann.get("width") or w, ann.get("height") or h
        if (aw, ah) != (w, h):  # annotation made for another size of this image
            polys = [p * np.array([w / aw, h / ah], np.float32) for p in polys]
        return image, polys, ignore, texts

    def __getitem__(self, item):
        """``item``: an index, or ``(index, draw)`` from a sampler that seeds augmentation."""
        i, draw = item if isinstance(item, tuple) else (item, item)
        return self.get(i, draw)

    def get(self, i: int, draw: int):
        if not self.train:
            return self._eval_sample(i)
        what = ", ".join(str(r.path) for r in self.readers)
        _, (image, polys, ignore, _) = load_first_readable(self, i, len(self), self.load, what)
        rng = np.random.default_rng((self.seed, draw))
        image, polys, ignore = self.augment(image, polys, ignore, rng)
        maps = self.targets(polys, ignore, image.shape[:2])
        return torch.from_numpy(normalize_image(image)), {k: torch.from_numpy(v) for k, v in maps.items()}

    def _eval_sample(self, i: int):
        image, polys, ignore, texts = self.load(i)
        h, w = image.shape[:2]
        resized, scale = resize_for_test(image, self.test_size, self.test_side, self.test_max_size)
        rh, rw = resized.shape[:2]
        tensor = F.pad(torch.from_numpy(normalize_image(resized)), (0, -rw % 32, 0, -rh % 32))  # pads with the mean colour
        meta = {"index": i, "scale": scale, "image_size": (h, w), "polygons": polys,
                "ignore": ignore, "texts": texts}
        return tensor, meta


def collate(batch: list):
    """Training: ``(images (B, 3, S, S), {"p3": (B, C, S/8, S/8), ...})``. Evaluation:
    ``(images (B, 3, H, W) zero-padded to the largest, list of meta dicts)``."""
    images, second = zip(*batch)
    if "scale" in second[0]:
        h = max(t.shape[1] for t in images)
        w = max(t.shape[2] for t in images)
        padded = torch.stack([F.pad(t, (0, w - t.shape[2], 0, h - t.shape[1])) for t in images])
        return padded, list(second)
    return torch.stack(images), {k: torch.stack([t[k] for t in second]) for k in second[0]}
