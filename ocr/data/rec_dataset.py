"""Recognition datasets over standard scene-text LMDBs, and mixing several with ratios."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ocr.data.images import ImageError, decode_image
from ocr.data.lmdb_store import LmdbReader
from ocr.data.skipping import load_first_readable
from ocr.data.rec_transforms import (RecAugment, WidthJitter, pad_batch, pad_for_reading, resize_crop, to_tensor,
                                     width_factor)
from ocr.models.contract import TextTargets
from ocr.text.charset import Charset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecFilter:
    """What a sample must satisfy to be used."""

    max_length: int = 25
    min_height: int = 4
    min_width: int = 4
    unknown: str = "drop"  # "drop" the sample, or "strip" the unknown characters (still counted)


class RecLmdbDataset(Dataset):
    """One recognition LMDB. Labels are filtered once at construction; images are decoded lazily.

    ``stats`` reports how many samples were dropped and why, and which characters were unknown.
    A corrupt record met during training is replaced by the next good one and counted.
    """

    def __init__(self, path, charset: Charset, height: int = 32, max_width: int = 512,
                 filt: RecFilter = RecFilter(), augment: bool | str = False, seed: int = 0,
                 caseless: bool = False, width_jitter: WidthJitter | None = None):
        self.reader = LmdbReader(path)
        self.caseless = caseless  # its labels tell no case (ocr.models.recognition.caseless)
        self.charset, self.height, self.max_width = charset, height, max_width
        self.filt = filt
        # augment: False, True (the light profile) or a RecAugment profile name
        self.augment = RecAugment(profile="light" if augment is True else augment) if augment else None
        self.seed, self.width_jitter = seed, width_jitter
        self.stats: Counter = Counter()
        self.unknown_chars: Counter = Counter()
        self.corrupt = 0
        self.index, self.labels = self._filter(self.reader.labels())
        self._sort_widths = None

    def _filter(self, raw_labels: list[str | None]) -> tuple[np.ndarray, list[str]]:
        keep, labels = [], []
        for i, raw in enumerate(raw_labels, start=1):
            if raw is None:
                self.stats["missing label"] += 1
                continue
            text = self.charset.normalize(raw)
            unknown = self.charset.unknown(text)
            if unknown:
                self.unknown_chars.update(unknown)
                if self.filt.unknown == "drop":
                    self.stats["characters outside charset"] += 1
                    continue
                text = "".join(c for c in text if c in self.charset).strip()
            if not text:
                self.stats["empty label"] += 1
                continue
            if len(text) > self.filt.max_length:
                self.stats[f"longer than {self.filt.max_length}"] += 1
                continue
            keep.append(i)
            labels.append(text)
        return np.asarray(keep, dtype=np.int64), labels

    def report(self) -> str:
        """One line: kept/total, drop reasons, most frequent unknown characters."""
        parts = [f"{self.reader.path}: kept {len(self)} of {len(self.reader)}"]
        parts += [f"{n} {why}" for why, n in self.stats.most_common()]
        if self.unknown_chars:
            top = ", ".join(f"{c!r}x{n}" for c, n in self.unknown_chars.most_common(8))
            parts.append(f"unknown chars: {top}")
        return "; ".join(parts)

    def __len__(self) -> int:
        return len(self.index)

    def sort_widths(self) -> np.ndarray:
        """Each sample's width once resized to ``height``, from the image headers (no decoding):
        what batching by width sorts on. Augmentation may change it a little."""
        if self._sort_widths is None:
            sizes = self.reader.image_sizes()
            est = [_resized_width(sizes[k - 1], len(label), self.height) for k, label in zip(self.index, self.labels)]
            self._sort_widths = np.clip(np.asarray(est, np.float64), 16, self.max_width)
        return self._sort_widths

    def load(self, i: int) -> np.ndarray:
        """Decoded RGB image of filtered sample ``i``; raises ImageError/LmdbError if unusable."""
        key = int(self.index[i])
        data, _ = self.reader.get(key)
        img = decode_image(data, f"{self.reader.path}#{key}")
        h, w = img.shape[:2]
        if h < self.filt.min_height or w < self.filt.min_width:
            raise ImageError(f"{self.reader.path}#{key}: image {w}x{h} is below the minimum size")
        return img

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return self.get(i, draw=i)

    def get(self, i: int, draw: int) -> tuple[torch.Tensor, str]:
        """Sample ``i``; ``draw`` (the position in the training stream) seeds its augmentation, so
        a resumed run augments exactly as an uninterrupted one."""
        j, img = load_first_readable(self, i, len(self), self.load, str(self.reader.path))
        if self.augment is not None:
            img = self.augment(img, np.random.default_rng((self.seed, draw)))
        stretch = width_factor(self.width_jitter, self.seed, draw)
        img = resize_crop(img, self.height, self.max_width, stretch=stretch)
        return to_tensor(img), self.labels[j]


# A character's width, in crop heights: a label's length as a width when the image's is not known.
CHAR_ASPECT = 0.5


def _resized_width(size: tuple[int, int] | None, length: int, height: int) -> float:
    """Width of an image of ``size`` (width, height) resized to ``height``; ``CHAR_ASPECT`` of a
    height per character when its header told no size."""
    if size is None or min(size) <= 0:
        return length * height * CHAR_ASPECT
    return size[0] * height / size[1]


def collate_rec(batch: list[tuple[torch.Tensor, str]], trailing_pad: float = 0.0,
                edge: float = 2.0) -> tuple[torch.Tensor, TextTargets]:
    """Pad images to one width; labels with the unpadded widths. With ``trailing_pad`` the model
    reads each image and that many heights of grey after it, as the reader does, in a batch that
    runs ``edge`` heights of grey further (``rec_transforms.pad_for_reading``)."""
    images, labels = [b[0] for b in batch], [b[1] for b in batch]
    caseless = [len(b) > 2 and bool(b[2]) for b in batch]  # MixedDataset's flag of caseless stores
    caseless = caseless if any(caseless) else None
    widths = [img.shape[2] for img in images]
    if not trailing_pad:
        return pad_batch(images), TextTargets(labels, widths, caseless=caseless)
    padded, read = pad_for_reading(images, trailing_pad, edge)
    return padded, TextTargets(labels, widths, read, caseless)


class MixedDataset(Dataset):
    """Concatenation of datasets; indices are (dataset, sample) pairs flattened."""

    def __init__(self, datasets: list[Dataset]):
        self.datasets = datasets
        self.offsets = np.cumsum([0] + [len(d) for d in datasets])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, item):
        """``item`` is an index, or (index, draw) as yielded by RatioSampler. A sample of a
        dataset whose labels tell no case (``caseless``) comes with a third field, True."""
        i, draw = item if isinstance(item, tuple) else (item, item)
        d = int(np.searchsorted(self.offsets, i, side="right") - 1)
        ds, j = self.datasets[d], i - int(self.offsets[d])
        sample = ds.get(j, draw) if hasattr(ds, "get") else ds[j]
        return (*sample, True) if getattr(ds, "caseless", False) else sample


class RatioSampler(Sampler):
    """Endless stream of indices into a MixedDataset drawing each dataset with a given ratio,
    grouped into batches of like samples: of like width with ``by_width`` (see ``sort_keys``),
    else of like label length. Like widths pad least: on the shipped recognizer's recipe, sorting by
    label length left 70% of a batch's pixels grey.

    Deterministic given (seed, start): ``start`` skips the batches already consumed, so a resumed
    run sees exactly the batches it would have seen.
    """

    def __init__(self, mixed: MixedDataset, ratios: list[float], batch_size: int, seed: int = 0,
                 start_batch: int = 0, bucket: int = 64, by_width: bool = False):
        if len(ratios) != len(mixed.datasets):
            raise ValueError(f"{len(ratios)} ratios for {len(mixed.datasets)} datasets")
        p = np.asarray(ratios, dtype=np.float64)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"ratios must be non-negative and not all zero: {ratios}")
        empty = [i for i, d in enumerate(mixed.datasets) if len(d) == 0 and p[i] > 0]
        if empty:
            raise ValueError(f"datasets {empty} are empty but have a non-zero ratio")
        self.mixed, self.p = mixed, p / p.sum()
        self.batch_size, self.seed, self.start_batch, self.bucket = batch_size, seed, start_batch, bucket
        self.keys = [sort_keys(d, by_width) for d in mixed.datasets]
        # with like widths and width jitter, batches sort on the widths crops are read at
        self.jitters = [getattr(d, "width_jitter", None) if by_width else None for d in mixed.datasets]

    def _chunk(self, chunk_id: int) -> list[list[tuple[int, int]]]:
        """``bucket`` batches drawn at random, sorted by their keys, then shuffled."""
        rng = np.random.default_rng((self.seed, chunk_id))
        n = self.batch_size * self.bucket
        which = rng.choice(len(self.p), size=n, p=self.p)
        idx, keys = np.empty(n, np.int64), np.empty(n, np.float64)
        draws = np.arange(n, dtype=np.int64) + chunk_id * n
        for d, (dataset, jitter) in enumerate(zip(self.mixed.datasets, self.jitters)):
            sel = np.nonzero(which == d)[0]
            pick = rng.integers(0, len(dataset), size=len(sel))
            idx[sel] = pick + self.mixed.offsets[d]
            keys[sel] = self.keys[d][pick]
            if jitter:
                keys[sel] *= [width_factor(jitter, dataset.seed, int(k)) for k in draws[sel]]
        order = np.argsort(keys + rng.random(n), kind="stable")
        # with width jitter a sample's draw (which fixes its width factor) is its place in the
        # stream as drawn, so that batches sort on the widths they will be read at; without, the
        # place in sorted order (as recipes before jitter ran)
        draws = draws[order] if any(self.jitters) else draws
        batches = [list(zip(idx[order[k:k + self.batch_size]].tolist(), draws[k:k + self.batch_size].tolist()))
                   for k in range(0, n, self.batch_size)]
        rng.shuffle(batches)
        return batches

    def __iter__(self):
        chunk, skip = divmod(self.start_batch, self.bucket)
        while True:
            for b in self._chunk(chunk)[skip:]:
                yield b
            chunk, skip = chunk + 1, 0


def sort_keys(dataset, by_width: bool) -> np.ndarray:
    """What batches are sorted on for each sample of ``dataset``: the resized image width
    (``sort_widths``) with ``by_width`` where the dataset can tell it, else the label's length
    (as a width, ``CHAR_ASPECT`` of the dataset's height per character, with ``by_width``, so that
    datasets of both kinds mix)."""
    if by_width and hasattr(dataset, "sort_widths"):
        return np.asarray(dataset.sort_widths(), np.float64)
    lengths = np.asarray([len(t) for t in getattr(dataset, "labels", [])] or [0] * len(dataset), np.float64)
    return lengths * CHAR_ASPECT * getattr(dataset, "height", 32) if by_width else lengths
