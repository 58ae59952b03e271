"""``ocr eval``: evaluate a recognizer or a detector on LMDB datasets and print a table."""
from __future__ import annotations

from pathlib import Path

import torch


def _device(name: str) -> str:
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


SPLITS = {"train", "val", "test", "all"}


def dataset_name(path) -> str:
    """A table/folder name for a store: its folder name, with the parent's when that is a split
    (``data/real/ic15_det/val`` -> ``ic15_det_val``)."""
    p = Path(path)
    return f"{p.parent.name}_{p.name}" if p.name in SPLITS and p.parent.name else p.name


def run_eval(model_spec: str, data: list[str], names=None, batch_size: int = 64, device: str = "auto",
             failures: str | None = None, viz: str | None = None, test_size: int = 0,
             straighten: bool = False, straighten_with: str | None = None) -> int:
    """Print a table per dataset. Recognition: with ``straighten`` the detector ``straighten_with``
    (None: the shipped one) straightens tilted or curved words as ``Reader.recognize`` does."""
    from ocr.weights import DEFAULT_DETECTOR, resolve_model

    dev = _device(device)
    model = resolve_model(model_spec, device=dev)
    names = names or [dataset_name(d) for d in data]
    if len(names) != len(data):
        raise ValueError(f"{len(names)} names for {len(data)} datasets")
    if getattr(model, "task", "") == "detection":
        from ocr.engine.det_eval import run_det_eval

        return run_det_eval(model, data, names, device=dev, viz=viz, test_size=test_size)
    det = None
    if straighten:
        det_spec = straighten_with or DEFAULT_DETECTOR
        det = resolve_model(det_spec, device=dev)
        print(f"crops of tilted or curved words also read straightened by {det_spec} (off: --no-straighten)")
    return _run_rec_eval(model, data, names, batch_size, dev, failures, det)


def _run_rec_eval(model, data, names, batch_size, device, failures, det=None) -> int:
    from ocr.engine.rec_eval import eval_dataset, format_table, predict_like_reader, RecResult, write_failures

    summaries, failed = {}, 0
    for path, name in zip(data, names):
        try:
            ds = eval_dataset(path, model)
            if ds.stats or ds.unknown_chars:
                print(ds.report())
            preds, gts, scores = predict_like_reader(model, ds, batch_size, device, straighten_with=det)
        except DATASET_ERRORS as e:
            failed += dataset_failed(path, e)
            continue
        res = RecResult(name, preds, gts, scores)
        summaries[name] = res.summary()
        if failures:
            out = write_failures(res, ds, failures)
            print(f"{name}: failures written to {out}")
    if summaries:
        print(format_table(summaries))
    return 1 if failed else 0


DATASET_ERRORS = (RuntimeError, ValueError, OSError)  # LmdbError, ImageError, unreadable folders


def dataset_failed(path, error) -> int:
    """One line on standard error for a dataset that cannot be evaluated; the others go on."""
    import sys

    msg = " ".join(str(error).split())
    print(f"ocr eval: {msg if str(path) in msg else f'{path}: {msg}'} (skipped)", file=sys.stderr)
    return 1
