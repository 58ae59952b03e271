"""Full-page reading without a detector (``FullPageModel``, ``ocr.models.contract``).

A page is read as ``n`` horizontal chunks, ``n`` chosen by its height so that each chunk, with
the overlap it reaches into its neighbours, has about the model's input aspect ratio: its text is
read at the scale of the page's width fitted to the input (a receipt three times taller than wide,
read by a 128 x 512 model, gives 16 chunks; a chunk is a strip of the full width). Chunks reach
``CHUNK_OVERLAP`` of their height into their neighbours, so a line cut by one chunk's border is
whole in the next; the model was trained to leave out lines it sees less than 60% of. All chunks
of a batch of pages are read together. Where two neighbouring chunks both read the lines of their
overlap, the seam keeps one copy (the more confident reading) of each such line.
"""
from __future__ import annotations

from dataclasses import dataclass

import editdistance
import numpy as np
import torch

from ocr.data.page_dataset import fit_page
from ocr.models.decoding import GREEDY, DecodeOptions, check_decode_options

CHUNK_OVERLAP = 0.15  # fraction of a chunk's height it reaches into each neighbour
SEAM_SIMILARITY = 0.8  # 1 - normalised edit distance for two readings of one line
SEAM_LINES = 4  # most lines two chunks may share


@dataclass
class ChunkLine:
    text: str
    score: float
    top: int  # the rows of the chunk it was read from
    bottom: int


def chunk_count(height: int, width: int, model_aspect: float, overlap: float = CHUNK_OVERLAP) -> int:
    """Chunks for a page, each of about the model's input aspect ratio (width / height) with the
    ``overlap`` it reaches into both neighbours."""
    return max(1, round(height / max(width, 1) * model_aspect * (1 + 2 * overlap)))


def chunk_rows(height: int, n: int, overlap: float = CHUNK_OVERLAP) -> list[tuple[int, int]]:
    """(top, bottom) rows of ``n`` chunks covering ``height``, each reaching ``overlap`` of its
    height into its neighbours."""
    step = height / n
    return [(max(0, int(i * step - overlap * step)), min(height, int(round((i + 1) * step + overlap * step))))
            for i in range(n)]


def similar(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    return 1 - editdistance.eval(a, b) / max(1, len(a), len(b)) >= SEAM_SIMILARITY


def seam_overlap(before: list[str], after: list[str], most: int = SEAM_LINES) -> int:
    """How many of the last lines of ``before`` the first lines of ``after`` read again."""
    for m in range(min(most, len(before), len(after)), 0, -1):
        if all(similar(before[len(before) - m + i], after[i]) for i in range(m)):
            return m
    return 0


def merge_chunks(chunks: list[list[ChunkLine]]) -> list[ChunkLine]:
    """The lines of consecutive chunks, top to bottom, each line of a seam kept once (its more
    confident reading)."""
    out: list[ChunkLine] = []
    for lines in chunks:
        m = seam_overlap([line.text for line in out], [line.text for line in lines])
        for i in range(m):
            if lines[i].score > out[len(out) - m + i].score:
                out[len(out) - m + i] = lines[i]
        out += lines[m:]
    return out


@torch.inference_mode()
def read_pages(model, images: list[np.ndarray], batch_size: int = 16, device: str = "cpu",
               options: DecodeOptions = GREEDY, chunks: int | None = None) -> list[list[ChunkLine]]:
    """Per page, its lines top to bottom, each with the rows of the chunk it came from.
    ``chunks``: how many chunks a page is read as (None: by its height, see ``chunk_count``)."""
    check_decode_options(model, options)
    c = model.config
    strips, owner = [], []
    for k, img in enumerate(images):
        h, w = img.shape[:2]
        for top, bottom in chunk_rows(h, chunks or chunk_count(h, w, c.img_width / c.img_height)):
            strips.append((img[top:bottom], top, bottom))
            owner.append(k)
    read: list[list[tuple[str, float]]] = []
    for start in range(0, len(strips), batch_size):
        batch = torch.stack([fit_page(s, c.img_height, c.img_width)[0] for s, _, _ in strips[start:start + batch_size]])
        read += model.postprocess(model(batch.to(device)), options=options)
    per_page: list[list[list[ChunkLine]]] = [[] for _ in images]
    for k, (_, top, bottom), lines in zip(owner, strips, read):
        per_page[k].append([ChunkLine(t, float(s), top, bottom) for t, s in lines])
    return [merge_chunks(page) for page in per_page]
