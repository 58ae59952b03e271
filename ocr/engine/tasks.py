"""Task adapters: what the generic training loop needs to know about a task's data and metrics."""
from __future__ import annotations

import functools

import torch
from torch.utils.data import DataLoader

from ocr.engine.config import TrainConfig


def stream_loader(datasets: list, cfg: TrainConfig, start_step: int, rank: int, collate, bucket: int) -> DataLoader:
    """An endless loader over ``datasets`` mixed with the recipe's ratios, starting at batch
    ``start_step`` of the deterministic stream (so resuming continues it exactly)."""
    from ocr.data.rec_dataset import MixedDataset, RatioSampler

    mixed = MixedDataset(datasets)
    sampler = RatioSampler(mixed, [s.ratio for s in cfg.train], cfg.batch_size,
                           seed=cfg.seed + 7919 * rank, start_batch=start_step, bucket=bucket)
    return DataLoader(mixed, batch_sampler=sampler, num_workers=cfg.workers, collate_fn=collate,
                      persistent_workers=cfg.workers > 0,
                      generator=torch.Generator().manual_seed(cfg.seed),  # leaves the global RNG alone
                      prefetch_factor=4 if cfg.workers > 0 else None)


class RecognitionTask:
    """Recognition: mixed LMDBs with ratios, length-bucketed batches, word accuracy on val sets."""

    key_metric = "acc36"

    def train_loader(self, cfg: TrainConfig, model, start_step: int, rank: int = 0) -> DataLoader:
        from ocr.data.rec_dataset import RecFilter, RecLmdbDataset, collate_rec

        mc, args = model.config, dict(cfg.data_args)
        filt = RecFilter(max_length=int(args.get("max_length", 25)), unknown=args.get("unknown", "drop"))
        sets = []
        for i, src in enumerate(cfg.train):
            ds = RecLmdbDataset(src.path, model.tokenizer.charset, height=mc.img_height, max_width=mc.max_width,
                                filt=filt, augment=src.augment, seed=cfg.seed * 1000 + i)
            if len(ds) == 0:
                raise ValueError(f"{src.path}: no usable sample ({ds.report()})")
            print(ds.report(), flush=True)
            sets.append(ds)
        collate = functools.partial(collate_rec, trailing_pad=float(args.get("trailing_pad", 0.0)))
        return stream_loader(sets, cfg, start_step, rank, collate, bucket=64)

    def to_device(self, batch, device):
        images, labels = batch
        return images.to(device, non_blocking=True), labels

    def batch_size_of(self, batch) -> int:
        return len(batch[1].texts)

    @staticmethod
    def forward_kwargs(targets) -> dict:
        """The columns of each image the model reads, when the recipe pads with trailing grey."""
        return {} if targets.read_widths is None else {"widths": targets.read_widths}

    @torch.no_grad()
    def validate(self, model, cfg: TrainConfig, device, amp_dtype) -> dict[str, dict]:
        from ocr.engine.rec_eval import evaluate_recognition

        out = {}
        for src in cfg.val:
            res = evaluate_recognition(model, src.path, name=src.name, batch_size=cfg.batch_size,
                                       device=device, amp_dtype=amp_dtype)
            out[res.name] = res.summary()
        return out


def get_task(name: str):
    if name == "recognition":
        return RecognitionTask()
    if name == "detection":
        from ocr.engine.det_task import DetectionTask

        return DetectionTask()
    raise ValueError(f"unknown task {name!r}; valid: recognition, detection")
