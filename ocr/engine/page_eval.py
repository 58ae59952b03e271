"""End-to-end reading evaluation: ``ocr read`` on page stores (images + full text in reading
order), scored by page CER and word-level F1 (micro over the set), as the issue's protocol."""
from __future__ import annotations

import time

import numpy as np

from ocr.data.lmdb_store import LmdbReader
from ocr.engine.metrics import page_scores


def evaluate_pages(reader, path, case_sensitive: bool = True, limit: int = 0) -> dict:
    """Read every page of a store that has a ``text`` annotation and score it; ``seconds``: the
    median wall time of one page's reading (so a model loaded on first use does not count)."""
    store = LmdbReader(path)
    preds, gts, seconds = [], [], []
    for i, ann in enumerate(store.annotations(), 1):  # one scan; each image read once, below
        if not ann.get("text"):
            continue
        data, _ = store.get(i)
        start = time.perf_counter()
        page = reader.read(data, name=f"{path}#{i}")
        seconds.append(time.perf_counter() - start)
        pred, gt = page.text, ann["text"]
        preds.append(pred if case_sensitive else pred.lower())
        gts.append(gt if case_sensitive else gt.lower())
        if limit and len(preds) >= limit:
            break
    return {**page_scores(preds, gts), "seconds": float(np.median(seconds)) if seconds else 0.0}
