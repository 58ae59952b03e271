"""The endless, resumable training stream shared by every task."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ocr.data.rec_dataset import MixedDataset, RatioSampler
from ocr.engine.config import TrainConfig


def stream_loader(datasets: list, cfg: TrainConfig, start_step: int, rank: int, collate, bucket: int,
                  by_width: bool = False) -> DataLoader:
    """An endless loader over ``datasets`` mixed with the recipe's ratios, starting at batch
    ``start_step`` of the deterministic stream (so resuming continues it exactly)."""
    mixed = MixedDataset(datasets)
    sampler = RatioSampler(mixed, [s.ratio for s in cfg.train], cfg.batch_size,
                           seed=cfg.seed + 7919 * rank, start_batch=start_step, bucket=bucket,
                           by_width=by_width)
    return DataLoader(mixed, batch_sampler=sampler, num_workers=cfg.workers, collate_fn=collate,
                      persistent_workers=cfg.workers > 0,
                      generator=torch.Generator().manual_seed(cfg.seed),  # leaves the global RNG alone
                      prefetch_factor=4 if cfg.workers > 0 else None)
