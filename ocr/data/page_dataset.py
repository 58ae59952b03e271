"""Training data for full-page models, every image fitted whole into the model's input size:

- ``PageLmdbDataset``: whole pages of a page store (a ``text`` annotation: lines in reading order);
- ``PageChunkDataset``: the chunk curriculum: random horizontal strips of pages (full width) whose
  height grows over training from one line to the whole page; the target is the text of the lines
  inside the strip, top to bottom, one per text line. A line cut by the strip's border is in the
  target when at least ``min_visible`` (60%) of its height is inside, and left out otherwise; at
  inference neighbouring chunks overlap, so every line is whole in one of them;
- ``CropPageDataset``: word and line crops of a recognition store (the instance-level stage),
  fitted into ``height`` x ``width`` (a height below the model's keeps the text at page scale).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ocr.data.images import decode_image
from ocr.data.lmdb_store import LmdbReader
from ocr.data.rec_dataset import RecLmdbDataset
from ocr.data.rec_transforms import to_tensor
from ocr.data.skipping import load_first_readable
from ocr.models.contract import TextTargets


def fit_page(img: np.ndarray, height: int, width: int) -> tuple[torch.Tensor, float]:
    """RGB page -> (3, height, width) in [-1, 1]: scaled to fit whole, aspect kept, padded with
    grey at the right and bottom; and the scale applied."""
    h, w = img.shape[:2]
    s = min(height / h, width / w)
    nh, nw = max(1, min(height, round(h * s))), max(1, min(width, round(w * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    out = torch.zeros(3, height, width)
    out[:, :nh, :nw] = to_tensor(cv2.resize(img, (nw, nh), interpolation=interp))
    return out, s


class PageLmdbDataset(Dataset):
    """(image (3, H, W), page text) for every page of a store that has a ``text`` annotation."""

    def __init__(self, path, height: int, width: int):
        self.reader, self.height, self.width = LmdbReader(path), height, width
        anns = self.reader.annotations()
        self.index = [i for i, ann in enumerate(anns, 1) if ann.get("text")]
        self.texts = [anns[i - 1]["text"] for i in self.index]

    def __len__(self) -> int:
        return len(self.index)

    def text(self, i: int) -> str:
        return self.texts[i]

    def load(self, i: int):
        data, _ = self.reader.get(self.index[i])
        return decode_image(data, name=f"{self.reader.path}#{self.index[i]}")

    def get(self, i: int, draw: int) -> tuple[torch.Tensor, str]:
        return fit_page(self.load(i), self.height, self.width)[0], self.text(i)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return self.get(i, draw=i)


@dataclass(frozen=True)
class Curriculum:
    """Strip heights over training: from ``start_lines`` median line heights at the first sample
    to the largest strip at sample ``full_at`` of the training stream. The largest strip is the
    whole page (``grow_to="page"``), or the one that fills the model's input at the page's width
    (``grow_to="input"``: the chunks a page is read as, no strip shrunk below that scale)."""

    start_lines: float = 1.0
    full_at: int = 200_000
    min_visible: float = 0.6
    grow_to: str = "page"

    def __post_init__(self):
        if self.grow_to not in ("page", "input"):
            raise ValueError(f"chunk curriculum: grow_to {self.grow_to!r}; expected 'page' or 'input'")


class PageChunkDataset(PageLmdbDataset):
    """Random strips of the pages of a page store whose ``lines`` carry text (the chunk curriculum)."""

    def __init__(self, path, height: int, width: int, max_length: int, curriculum: Curriculum = Curriculum(),
                 seed: int = 0):
        self.reader, self.height, self.width = LmdbReader(path), height, width
        self.max_length, self.curriculum, self.seed = max_length, curriculum, seed
        self.index, self.lines, self.texts = [], [], []
        for i, ann in enumerate(self.reader.annotations(), 1):
            rows = _text_rows(ann)
            if rows:
                self.index.append(i)
                self.lines.append(rows)
                self.texts.append(ann.get("text") or "\n".join(r[3] for r in rows))

    def get(self, i: int, draw: int) -> tuple[torch.Tensor, str]:
        """Strip ``draw`` of the training stream (seeded by it, so resuming is exact) from page ``i``."""
        img, rows = self.load(i), self.lines[i]
        top, bottom = self.strip(img.shape[:2], rows, np.random.default_rng((self.seed, draw)), draw)
        bottom, text = self.target(rows, top, bottom)
        return fit_page(img[int(top):max(int(top) + 1, int(bottom))], self.height, self.width)[0], text

    def strip(self, shape: tuple[int, int], rows, rng, draw: int) -> tuple[float, float]:
        """(top, bottom) of a strip of a page of ``shape`` (height, width)."""
        c, (height, width) = self.curriculum, shape
        line = float(np.median([b - t for t, b, _, _ in rows]))
        low = min(height, c.start_lines * line)
        largest = height if c.grow_to == "page" else max(low, min(height, width * self.height / self.width))
        high = low + min(1.0, draw / max(1, c.full_at)) * (largest - low)
        size = rng.uniform(low, max(low, high))
        top = rng.uniform(0, max(0.0, height - size))
        return top, top + size

    def target(self, rows, top: float, bottom: float) -> tuple[float, str]:
        """The lines visible enough in [top, bottom), top to bottom; a strip whose text would pass
        ``max_length`` ends above the first line that does not fit."""
        texts = []
        for t, b, _, text in rows:
            if (min(b, bottom) - max(t, top)) < self.curriculum.min_visible * (b - t):
                continue
            if len("\n".join(texts + [text])) > self.max_length:
                return max(top + 1, t), "\n".join(texts)
            texts.append(text)
        return bottom, "\n".join(texts)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return self.get(i, draw=i)


def _text_rows(ann: dict) -> list[tuple[float, float, float, str]]:
    """(top, bottom, left, text) of each annotated line with text, in reading order (top to
    bottom, then left to right)."""
    rows = []
    for ln in ann.get("lines") or []:
        if ln.get("ignore") or not (ln.get("text") or "").strip():
            continue
        pts = np.asarray(ln["polygon"], np.float64).reshape(-1, 2)
        rows.append((float(pts[:, 1].min()), float(pts[:, 1].max()), float(pts[:, 0].min()), " ".join(ln["text"].split())))
    if not rows:
        return rows
    line = max(1.0, float(np.median([b - t for t, b, _, _ in rows])))
    return sorted(rows, key=lambda r: (round((r[0] + r[1]) / 2 / line), r[2]))


class CropPageDataset(RecLmdbDataset):
    """Word and line crops of a recognition store, each fitted whole into the page model's input."""

    def __init__(self, path, charset, height: int, width: int, max_length: int, augment=False, seed: int = 0):
        from ocr.data.rec_dataset import RecFilter

        super().__init__(path, charset, height=height, max_width=width, filt=RecFilter(max_length=max_length),
                         augment=augment, seed=seed)

    def get(self, i: int, draw: int) -> tuple[torch.Tensor, str]:
        j, img = load_first_readable(self, i, len(self), self.load, str(self.reader.path))
        if self.augment is not None:
            img = self.augment(img, np.random.default_rng((self.seed, draw)))
        return fit_page(img, self.height, self.max_width)[0], self.labels[j]


def collate_pages(batch) -> tuple[torch.Tensor, TextTargets]:
    images, texts = zip(*batch)
    return torch.stack(images), TextTargets(list(texts), [im.shape[2] for im in images])
