"""End-to-end reading evaluation: ``ocr read`` on page stores (images + full text in reading
order), scored by page CER and word-level F1 (micro over the set), as the issue's protocol."""
from __future__ import annotations

from ocr.data.lmdb_store import LmdbReader
from ocr.engine.evaluate import dataset_name
from ocr.engine.metrics import page_scores


def evaluate_pages(reader, path, case_sensitive: bool = True, limit: int = 0) -> dict:
    """Read every page of a store that has a ``text`` annotation and score it."""
    store = LmdbReader(path)
    preds, gts = [], []
    for i in range(1, len(store) + 1):
        ann = store.annotation(i)
        if not ann.get("text"):
            continue
        data, _ = store.get(i)
        page = reader.read(data, name=f"{path}#{i}")
        pred, gt = page.text, ann["text"]
        preds.append(pred if case_sensitive else pred.lower())
        gts.append(gt if case_sensitive else gt.lower())
        if limit and len(preds) >= limit:
            break
    return page_scores(preds, gts)


def make_reader(engine: str, det=None, rec=None, device: str = "auto"):
    """This toolkit's reader (``engine="ocr"``) or a baseline program scored the same way."""
    if engine == "tesseract":
        from ocr.engine.tesseract_baseline import TesseractReader

        reader = TesseractReader()
        print(f"engine: {reader.version()}")
        return reader
    if engine != "ocr":
        raise ValueError(f"unknown engine {engine!r} (ocr or tesseract)")
    from ocr.api import Reader

    return Reader(det=det, rec=rec, device=device)


def run_page_eval(data: list[str], det=None, rec=None, device: str = "auto", case_sensitive: bool = True,
                  engine: str = "ocr") -> int:
    reader = make_reader(engine, det, rec, device)
    print(f"{'dataset':<24}{'pages':>7}{'CER':>9}{'word P':>9}{'word R':>9}{'word F1':>9}")
    for path in data:
        s = evaluate_pages(reader, path, case_sensitive)
        print(f"{dataset_name(path)[-24:]:<24}{s['n']:>7}{s['cer']:>9.4f}{s['precision']:>9.4f}"
              f"{s['recall']:>9.4f}{s['f1']:>9.4f}")
    return 0
