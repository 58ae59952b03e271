"""Detection evaluation: ICDAR precision / recall / h-mean per store, optional visualizations
(``ocr eval`` on a detector, and the detection task's validation)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ocr.engine.eval_errors import DATASET_ERRORS, dataset_failed


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




def run_det_eval(model, data, names, test_size: int, device="cpu", viz=None) -> int:
    """Print a table per store; ``test_size``: the long side the detector sees."""
    size = test_size
    print(f"{'dataset':<22}{'precision':>11}{'recall':>11}{'hmean':>11}{'gt':>8}{'pred':>8}")
    failed = 0
    for path, name in zip(data, names):
        try:
            s = evaluate_det_set(model, path, device, test_size=size, viz=viz, name=name)
        except DATASET_ERRORS as e:
            failed += dataset_failed(path, e)
            continue
        print(f"{name:<22}{s['precision']:>11.4f}{s['recall']:>11.4f}{s['hmean']:>11.4f}"
              f"{s['num_gt']:>8}{s['num_pred']:>8}")
    if viz:
        print(f"visualizations in {viz} (green: truth, red: don't care, orange: predicted)")
    return 1 if failed else 0
