"""Full-page reading as a training task: page stores (images + their text in reading order) with
ratios; page CER and word F1 on validation stores."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ocr.data.lmdb_store import dataset_name
from ocr.data.page_dataset import PageLmdbDataset, collate_pages
from ocr.engine.config import TrainConfig
from ocr.engine.loader import stream_loader
from ocr.engine.metrics import page_scores
from ocr.pipeline.fullpage import read_pages


def page_texts(model, path, batch_size: int = 4, device="cpu", limit: int = 0) -> tuple[list[str], list[str]]:
    """(predicted, true) page texts of a store, lines joined by newlines."""
    ds = PageLmdbDataset(path, model.config.img_height, model.config.img_width)
    n = min(len(ds), limit) if limit else len(ds)
    lines = read_pages(model, [ds.load(i) for i in range(n)], batch_size, str(device))
    return ["\n".join(t for t, _ in page) for page in lines], [ds.text(i) for i in range(n)]


class FullPageTask:
    key_metric = "f1"

    def train_loader(self, cfg: TrainConfig, model, start_step: int, rank: int = 0) -> DataLoader:
        c = model.config
        sets = [PageLmdbDataset(s.path, c.img_height, c.img_width) for s in cfg.train]
        for s, ds in zip(cfg.train, sets):
            if len(ds) == 0:
                raise ValueError(f"{s.path}: no page with a text annotation")
        return stream_loader(sets, cfg, start_step, rank, collate_pages, bucket=8)

    def to_device(self, batch, device):
        images, targets = batch
        return images.to(device, non_blocking=True), targets

    def batch_size_of(self, batch) -> int:
        return len(batch[1].texts)

    @staticmethod
    def forward_kwargs(targets) -> dict:
        return {"targets": targets}  # teacher forcing inside forward

    @torch.no_grad()
    def validate(self, model, cfg: TrainConfig, device, amp_dtype) -> dict[str, dict]:
        model.eval()
        out = {}
        for src in cfg.val:
            with torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype or torch.bfloat16,
                                enabled=amp_dtype is not None):
                preds, gts = page_texts(model, src.path, device=device)
            out[src.name or dataset_name(src.path)] = page_scores(preds, gts)
        return out
