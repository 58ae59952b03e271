"""``ocr eval``: evaluate a recognizer or a detector on LMDB datasets and print a table."""
from __future__ import annotations

from ocr.data.lmdb_store import dataset_name
from ocr.devices import resolve_device
from ocr.engine.eval_errors import DATASET_ERRORS, dataset_failed
from ocr.pipeline.defaults import DET_SIZE


def run_eval(model_spec: str, data: list[str], names=None, batch_size: int = 64, device: str = "auto",
             failures: str | None = None, viz: str | None = None, test_size: int = 0,
             straighten: bool = False, straighten_with: str | None = None, backend: str = "torch",
             precision: str = "fp32", reread: bool = True) -> int:
    """Print a table per dataset. Recognition: with ``straighten`` the detector ``straighten_with``
    (None: the shipped one) straightens tilted or curved words as ``Reader.recognize`` does.
    ``reread``: low-confidence crops are read again stretched and squeezed, as the reader does.
    ``backend`` / ``precision``: how the model runs (``ocr.runtime``)."""
    from ocr.runtime import load
    from ocr.weights import DEFAULT_DETECTOR, resolve_model

    dev = resolve_device(device)
    model = load(model_spec, dev, backend, precision)
    names = names or [dataset_name(d) for d in data]
    if len(names) != len(data):
        raise ValueError(f"{len(names)} names for {len(data)} datasets")
    if model.task == "fullpage":
        return _run_page_eval(model, data, names, batch_size, dev)
    if model.task == "detection":
        from ocr.engine.det_eval import run_det_eval

        return run_det_eval(model, data, names, test_size or DET_SIZE, device=dev, viz=viz)
    det = None
    if straighten:
        det_spec = straighten_with or DEFAULT_DETECTOR
        det = resolve_model(det_spec, device=dev)
        print(f"crops of tilted or curved words also read straightened by {det_spec} (off: --no-straighten)")
    return _run_rec_eval(model, data, names, batch_size, dev, failures, det, reread)


def _run_rec_eval(model, data, names, batch_size, device, failures, det=None, reread: bool = True) -> int:
    from ocr.engine.rec_eval import eval_dataset, format_table, predict_like_reader, RecResult, write_failures
    from ocr.pipeline.recognize import REREAD_WIDTHS

    summaries, failed = {}, 0
    for path, name in zip(data, names):
        try:
            ds = eval_dataset(path, model)
            if ds.stats or ds.unknown_chars:
                print(ds.report())
            preds, gts, scores = predict_like_reader(model, ds, batch_size, device, straighten_with=det,
                                                     reread=REREAD_WIDTHS if reread else ())
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


def _run_page_eval(model, data, names, batch_size, device) -> int:
    """A full-page model on page stores: page CER and word F1, one row per store."""
    from ocr.engine.metrics import page_scores
    from ocr.engine.page_task import page_texts

    print(f"{'dataset':<24}{'pages':>7}{'CER':>9}{'word P':>9}{'word R':>9}{'word F1':>9}")
    failed = 0
    for path, name in zip(data, names):
        try:
            s = page_scores(*page_texts(model, path, min(batch_size, 8), device))
        except DATASET_ERRORS as e:
            failed += dataset_failed(path, e)
            continue
        print(f"{name[-24:]:<24}{s['n']:>7}{s['cer']:>9.4f}{s['precision']:>9.4f}{s['recall']:>9.4f}{s['f1']:>9.4f}")
    return 1 if failed else 0
