"""``tools/eval_read.py``: score a reader end to end on page stores, this toolkit's or a baseline
program's, and print one row per store."""
from __future__ import annotations

from ocr.data.lmdb_store import dataset_name
from ocr.engine.page_eval import evaluate_pages


def make_reader(engine: str, det=None, rec=None, device: str = "auto", page=None, det_size=None,
                backend: str = "auto", precision: str = "auto"):
    """This toolkit's reader (``engine="ocr"``: detect then recognize; ``"fullpage"``: the full-page
    model ``page``) or a baseline program scored the same way."""
    if engine == "tesseract":
        from ocr.engine.tesseract_baseline import TesseractReader

        reader = TesseractReader()
        print(f"engine: {reader.version()}")
        return reader
    if engine not in ("ocr", "fullpage"):
        raise ValueError(f"unknown engine {engine!r} (ocr, fullpage or tesseract)")
    from ocr.api import Reader

    if engine == "fullpage":
        return Reader(engine="fullpage", page=page, device=device)
    sized = {} if det_size is None else {"det_size": det_size}
    return Reader(det=det, rec=rec, device=device, backend=backend, precision=precision, **sized)


def run_page_eval(data: list[str], det=None, rec=None, device: str = "auto", case_sensitive: bool = True,
                  engine: str = "ocr", page=None, det_size=None, backend: str = "auto", precision: str = "auto") -> int:
    """``det_size``: the long side the detector sees (a number or ``"auto"``; None: the reader's);
    ``backend`` / ``precision``: how the models run (``ocr.runtime``)."""
    reader = make_reader(engine, det, rec, device, page, det_size, backend, precision)
    print(f"{'dataset':<24}{'pages':>7}{'CER':>9}{'word P':>9}{'word R':>9}{'word F1':>9}{'s/page':>8}")
    for path in data:
        s = evaluate_pages(reader, path, case_sensitive)
        print(f"{dataset_name(path)[-24:]:<24}{s['n']:>7}{s['cer']:>9.4f}{s['precision']:>9.4f}"
              f"{s['recall']:>9.4f}{s['f1']:>9.4f}{s['seconds']:>8.2f}")
    return 0
