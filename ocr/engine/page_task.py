"""Full-page reading as a training task: page stores (images + their text in reading order) with
ratios; page CER and word F1 on validation stores."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ocr.data.lmdb_store import DET_SCHEMA, LmdbReader, dataset_name
from ocr.data.page_dataset import (CropPageDataset, Curriculum, PageChunkDataset, PageLmdbDataset,
                                   collate_pages)
from ocr.engine.config import TrainConfig
from ocr.engine.loader import stream_loader
from ocr.engine.metrics import page_scores
from ocr.pipeline.fullpage import read_pages


def page_texts(model, path, batch_size: int = 16, device="cpu", limit: int = 0) -> tuple[list[str], list[str]]:
    """(predicted, true) page texts of a store, lines joined by newlines."""
    ds = PageLmdbDataset(path, model.config.img_height, model.config.img_width)
    n = min(len(ds), limit) if limit else len(ds)
    pages = read_pages(model, [ds.load(i) for i in range(n)], batch_size, str(device))
    return ["\n".join(line.text for line in page) for page in pages], [ds.text(i) for i in range(n)]


class FullPageTask:
    key_metric = "f1"

    def train_loader(self, cfg: TrainConfig, model, start_step: int, rank: int = 0) -> DataLoader:
        sets = [self.train_set(s, model, cfg, cfg.seed * 1000 + i) for i, s in enumerate(cfg.train)]
        for s, ds in zip(cfg.train, sets):
            if len(ds) == 0:
                raise ValueError(f"{s.path}: nothing to train on (no page with text, or no usable crop)")
        return stream_loader(sets, cfg, start_step, rank, collate_pages, bucket=8)

    @staticmethod
    def train_set(src, model, cfg: TrainConfig, seed: int):
        """A recognition store gives its crops (instance level); a page store gives the chunk
        curriculum (``mode: chunks``, the default) or whole pages (``mode: pages``)."""
        c, args = model.config, cfg.data_args
        if LmdbReader(src.path).schema != DET_SCHEMA:  # crop_height: text at the scale of page lines
            return CropPageDataset(src.path, model.tokenizer.charset, int(args.get("crop_height", c.img_height)),
                                   c.img_width, c.max_length, augment=src.augment, seed=seed)
        if src.mode == "pages":
            return PageLmdbDataset(src.path, c.img_height, c.img_width)
        if src.mode not in ("", "chunks"):
            raise ValueError(f"{src.path}: mode {src.mode!r}; a page store trains as chunks or pages")
        curriculum = Curriculum(start_lines=float(args.get("chunk_start_lines", 1.0)),
                                full_at=int(args.get("chunk_full_at", 200_000)),
                                grow_to=str(args.get("chunk_grow_to", "page")))
        ds = PageChunkDataset(src.path, c.img_height, c.img_width, c.max_length, curriculum, seed)
        if len(ds) == 0:
            raise ValueError(f"{src.path}: no page with text lines (annotation 'lines') to cut chunks from; "
                             "mode: pages trains on whole pages and their 'text'")
        return ds

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
