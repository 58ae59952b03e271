"""``ocr eval`` for detectors: precision / recall / h-mean per store, optional visualizations."""
from __future__ import annotations

from ocr.engine.det_task import evaluate_det_set
from ocr.engine.evaluate import DATASET_ERRORS, dataset_failed


def run_det_eval(model, data, names, device="cpu", viz=None, test_size: int = 0) -> int:
    from ocr.api import DET_SIZE

    size = test_size or DET_SIZE  # the reader's size unless told otherwise
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
