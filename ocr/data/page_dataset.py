"""Page stores (detection/page LMDBs with a ``text`` annotation: the page's lines in reading order)
as training data for full-page models: the whole page fitted into the model's input size."""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ocr.data.images import decode_image
from ocr.data.lmdb_store import LmdbReader
from ocr.data.rec_transforms import to_tensor
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
        self.index = [i for i in range(1, len(self.reader) + 1) if self.reader.annotation(i).get("text")]

    def __len__(self) -> int:
        return len(self.index)

    def text(self, i: int) -> str:
        return self.reader.annotation(self.index[i])["text"]

    def load(self, i: int):
        data, _ = self.reader.get(self.index[i])
        return decode_image(data, name=f"{self.reader.path}#{self.index[i]}")

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        return fit_page(self.load(i), self.height, self.width)[0], self.text(i)


def collate_pages(batch) -> tuple[torch.Tensor, TextTargets]:
    images, texts = zip(*batch)
    return torch.stack(images), TextTargets(list(texts), [im.shape[2] for im in images])
