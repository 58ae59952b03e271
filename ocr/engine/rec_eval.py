"""Recognition evaluation: a metrics table per dataset and a folder of failures to read."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ocr.data.rec_dataset import RecFilter, RecLmdbDataset
from ocr.data.lmdb_store import dataset_name
from ocr.engine import metrics

LENGTH_BUCKETS = ((1, 3), (4, 6), (7, 10), (11, 25), (26, 1000))


@dataclass
class RecResult:
    name: str
    preds: list[str]
    gts: list[str]
    scores: list[float]

    def summary(self) -> dict:
        """36-char accuracy, exact accuracy with and without case (their difference: words right
        but for the case of a letter), 1-NED, CER and accuracy by label length."""
        out = {
            "n": len(self.gts),
            "acc36": metrics.word_accuracy(self.preds, self.gts, mode="36"),
            "acc_cased": metrics.word_accuracy(self.preds, self.gts, mode="cased"),
            "acc_caseless": metrics.word_accuracy(self.preds, self.gts, mode="caseless"),
            "one_minus_ned": metrics.one_minus_ned(self.preds, self.gts),
            "cer": metrics.cer(self.preds, self.gts),
        }
        for lo, hi in LENGTH_BUCKETS:
            sel = [i for i, g in enumerate(self.gts) if lo <= len(g) <= hi]
            if sel:
                out[f"acc36_len{lo}-{hi}"] = metrics.word_accuracy([self.preds[i] for i in sel],
                                                                   [self.gts[i] for i in sel], mode="36")
        return out


EVAL_CHUNK = 8192  # crops decoded and width-sorted together during evaluation


def eval_dataset(path, model, max_length: int = 100) -> RecLmdbDataset:
    """A store at the model's input size, labels filtered by its charset (unknown characters
    stripped and counted, so that no sample is dropped silently)."""
    cfg = model.config
    return RecLmdbDataset(path, model.tokenizer.charset, height=cfg.img_height, max_width=cfg.max_width,
                          filt=RecFilter(max_length=max_length, min_height=1, min_width=1, unknown="strip"))


def evaluate_recognition(model, path, name: str = "", batch_size: int = 64, device="cpu",
                         amp_dtype=None) -> RecResult:
    ds = eval_dataset(path, model)
    preds, gts, scores = predict_like_reader(model, ds, batch_size, device, amp_dtype)
    return RecResult(name or dataset_name(path), preds, gts, scores)


def predict_like_reader(model, ds: RecLmdbDataset, batch_size: int = 64, device="cpu", amp_dtype=None,
                        straighten_with=None, reread: tuple[float, ...] = ()):
    """Read every crop of a store the way ``Reader.recognize`` does (width-sorted batches, the
    same padding, tall crops also read turned, tilted or curved words also read straightened by
    the detector ``straighten_with``, low-confidence crops read again at the width factors
    ``reread``), so that evaluation measures what users get."""
    from ocr.data.skipping import load_first_readable
    from ocr.pipeline.recognize import read_crops

    model.eval()
    labels, readings = [], []
    for start in range(0, len(ds), EVAL_CHUNK):  # decoded crops held one chunk at a time
        crops = []
        for i in range(start, min(start + EVAL_CHUNK, len(ds))):
            j, img = load_first_readable(ds, i, len(ds), ds.load, str(ds.reader.path))  # skips unreadable
            crops.append(img)
            labels.append(ds.labels[j])
        with torch.autocast(device_type=torch.device(device).type, dtype=amp_dtype or torch.bfloat16,
                            enabled=amp_dtype is not None):
            readings += read_crops(model, crops, batch_size, device, straighten_with=straighten_with, reread=reread)
    return [t for t, _ in readings], labels, [float(c) for _, c in readings]


def write_failures(result: RecResult, dataset: RecLmdbDataset, out_dir: str | os.PathLike, limit: int = 500) -> Path:
    """Write each misread crop as PNG plus failures.tsv (file, prediction, truth, score)."""
    out = Path(out_dir) / result.name
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (p, g, s) in enumerate(zip(result.preds, result.gts, result.scores)):
        if metrics.normalize_36(p) == metrics.normalize_36(g):
            continue
        if len(rows) >= limit:
            break
        fname = f"{i:06d}.png"
        img = dataset.load(i)
        cv2.imwrite(str(out / fname), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        rows.append((fname, p, g, f"{s:.3f}"))
    with open(out / "failures.tsv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t")
        w.writerow(["image", "prediction", "truth", "score"])
        w.writerows(rows)
    return out


def format_table(summaries: dict[str, dict]) -> str:
    """A fixed-width table: one row per dataset, plus the average of acc36."""
    cols = ["n", "acc36", "acc_cased", "acc_caseless", "one_minus_ned", "cer"]
    lines = [f"{'dataset':<22}" + "".join(f"{c:>14}" for c in cols)]
    for name, s in summaries.items():
        lines.append(f"{name:<22}" + "".join(f"{s[c]:>14.4f}" if isinstance(s[c], float) else f"{s[c]:>14}" for c in cols))
        by_len = "  ".join(f"{k[6:]}: {v:.3f}" for k, v in s.items() if k.startswith("acc36_len"))
        lines.append(f"{'':<22}  by length {by_len}")
    if len(summaries) > 1:
        avg = float(np.mean([s["acc36"] for s in summaries.values()]))
        lines.append(f"{'average acc36':<22}{'':>14}{avg:>14.4f}")
    return "\n".join(lines)
