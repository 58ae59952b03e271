"""Detection as a training task: FCE targets from mixed stores with ratios; h-mean on validation stores."""
from __future__ import annotations

from pathlib import Path

from torch.utils.data import DataLoader

from ocr.engine.config import TrainConfig
from ocr.engine.det_eval import evaluate_det_set
from ocr.engine.loader import stream_loader


def _train_set(src, model, cfg: TrainConfig, seed: int):
    from ocr.data.det_dataset import DetLmdbDataset
    from ocr.data.det_transforms import AugmentConfig

    c, args = model.config, cfg.data_args
    augment = AugmentConfig(scale_base=int(args.get("scale_base", 0)),
                            scale_range=tuple(args.get("scale_range", AugmentConfig.scale_range)))
    return DetLmdbDataset(src.path, train=True, image_size=int(args.get("image_size", 640)),
                          fourier_degree=c.fourier_degree, scales=c.scales, level_ranges=c.level_ranges,
                          center_ratio=c.center_ratio, granularity=src.mode or "words", augment=augment,
                          seed=seed)


class DetectionTask:
    """Detection: FCE targets from mixed stores with ratios; h-mean on validation stores."""

    key_metric = "hmean"

    def train_loader(self, cfg: TrainConfig, model, start_step: int, rank: int = 0) -> DataLoader:
        from ocr.data.det_dataset import collate

        sets = [_train_set(s, model, cfg, cfg.seed * 1000 + i) for i, s in enumerate(cfg.train)]
        return stream_loader(sets, cfg, start_step, rank, collate, bucket=8)

    def to_device(self, batch, device):
        images, targets = batch
        return images.to(device, non_blocking=True), {k: v.to(device, non_blocking=True) for k, v in targets.items()}

    @staticmethod
    def forward_kwargs(targets) -> dict:
        return {}

    def batch_size_of(self, batch) -> int:
        return batch[0].shape[0]

    def validate(self, model, cfg: TrainConfig, device, amp_dtype) -> dict[str, dict]:
        size = int(cfg.data_args.get("test_size", 1024))
        return {src.name or Path(src.path).name: evaluate_det_set(model, src.path, device, amp_dtype, size,
                                                                 granularity=src.mode or "words")
                for src in cfg.val}
