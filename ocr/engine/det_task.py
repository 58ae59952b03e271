"""Detection task adapter for the shared training loop, and detection evaluation."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ocr.engine.config import TrainConfig


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


def eval_set(path, model, test_size: int, granularity: str = "words"):
    from ocr.data.det_dataset import DetLmdbDataset

    c = model.config
    return DetLmdbDataset(path, train=False, fourier_degree=c.fourier_degree, scales=c.scales,
                          level_ranges=c.level_ranges, granularity=granularity, test_size=test_size)


@torch.no_grad()
def predict_det(model, dataset, device="cpu", amp_dtype=None, batch_size: int = 1):
    """Yield (meta, predicted polygons, scores) for each evaluation sample of ``dataset``."""
    from ocr.data.det_dataset import collate

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
    model.eval()
    for images, metas in loader:
        with torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype or torch.bfloat16,
                            enabled=amp_dtype is not None):
            outputs = model(images.to(device))
        outputs = {k: v.float() for k, v in outputs.items()}
        results = model.postprocess(outputs, scales=[m["scale"] for m in metas],
                                    image_sizes=[m["image_size"] for m in metas])
        for meta, dets in zip(metas, results):
            yield meta, [d["polygon"] for d in dets], [d["score"] for d in dets]


def evaluate_det_set(model, path, device="cpu", amp_dtype=None, test_size: int = 1024, viz: str | None = None,
                     name: str = "", granularity: str = "words") -> dict:
    """ICDAR precision/recall/h-mean at IoU 0.5 with don't-care regions on one store."""
    from ocr.engine.metrics import evaluate_detection

    ds = eval_set(path, model, test_size, granularity)
    preds, gts, ignores = [], [], []
    for meta, polys, scores in predict_det(model, ds, device, amp_dtype):
        preds.append(polys)
        gts.append(meta["polygons"])
        ignores.append(meta["ignore"])
        if viz:
            _write_viz(ds, meta, polys, Path(viz) / (name or Path(path).name))
    return evaluate_detection(preds, gts, ignores, iou_thr=0.5)


def _write_viz(ds, meta, polys, out_dir: Path) -> None:
    import cv2

    from ocr.pipeline.viz import write_image

    out_dir.mkdir(parents=True, exist_ok=True)
    image = cv2.cvtColor(ds.load(meta["index"])[0], cv2.COLOR_RGB2BGR)
    for poly, ign in zip(meta["polygons"], meta["ignore"]):
        cv2.polylines(image, [np.round(poly).astype(np.int32)], True, (0, 0, 255) if ign else (0, 200, 0), 2)
    for poly in polys:
        cv2.polylines(image, [np.round(poly).astype(np.int32)], True, (255, 128, 0), 2)
    write_image(out_dir / f"{meta['index']:05d}.jpg", image)


class DetectionTask:
    """Detection: FCE targets from mixed stores with ratios; h-mean on validation stores."""

    key_metric = "hmean"

    def train_loader(self, cfg: TrainConfig, model, start_step: int, rank: int = 0) -> DataLoader:
        from ocr.data.det_dataset import collate
        from ocr.engine.tasks import stream_loader

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
