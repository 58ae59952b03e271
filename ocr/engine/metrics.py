"""Evaluation metrics: word recognition, ICDAR-style detection and page OCR.

Recognition follows the standard scene-text protocol (``normalize_36``: lowercase, keep 0-9a-z)
and also reports 1 - normalised edit distance, CER and WER. Detection is the ICDAR2015 h-mean at
IoU 0.5 with don't-care regions. Pages are scored by CER on whitespace-normalised text and by a
bag-of-words F1, both micro-averaged over a set.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import editdistance
import numpy as np
from shapely.geometry import Polygon
from shapely.validation import make_valid

_NOT36 = re.compile(r"[^0-9a-z]")
LENGTH_BUCKETS = ((1, 3), (4, 6), (7, 9), (10, 10 ** 9))


# ----------------------------------------------------------------------------- recognition
def normalize_36(s: str) -> str:
    """Lowercase and keep only 0-9a-z (the standard case-insensitive alphanumeric protocol)."""
    return _NOT36.sub("", s.lower())


def _pairs(preds: Sequence[str], gts: Sequence[str]) -> list[tuple[str, str]]:
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions but {len(gts)} ground truths")
    return list(zip(preds, gts))


def _norm(s: str, mode: str) -> str:
    if mode == "36":
        return normalize_36(s)
    if mode == "cased":
        return s
    if mode == "caseless":
        return s.lower()
    raise ValueError(f"mode must be '36', 'cased' or 'caseless', not {mode!r}")


def word_accuracy(preds: Sequence[str], gts: Sequence[str], mode: str = "36") -> float:
    """Fraction of exact matches after normalisation (``36``, ``cased`` or ``caseless``)."""
    pairs = _pairs(preds, gts)
    if not pairs:
        return 0.0
    return sum(_norm(p, mode) == _norm(g, mode) for p, g in pairs) / len(pairs)


def one_minus_ned(preds: Sequence[str], gts: Sequence[str], normalize: bool = True) -> float:
    """Mean over samples of 1 - ED(p, g) / max(len(p), len(g)) (1 when both are empty); strings
    are 36-normalised first unless ``normalize=False``."""
    pairs = _pairs(preds, gts)
    if not pairs:
        return 0.0
    total = 0.0
    for p, g in pairs:
        if normalize:
            p, g = normalize_36(p), normalize_36(g)
        longest = max(len(p), len(g))
        total += 1.0 if longest == 0 else 1.0 - editdistance.eval(p, g) / longest
    return total / len(pairs)


def cer(preds: Sequence[str], gts: Sequence[str]) -> float:
    """Character error rate: sum of edit distances / sum of ground-truth lengths (raw strings)."""
    pairs = _pairs(preds, gts)
    dist = sum(editdistance.eval(p, g) for p, g in pairs)
    return dist / max(1, sum(len(g) for _, g in pairs))


def wer(preds: Sequence[str], gts: Sequence[str]) -> float:
    """Word error rate: word-level edit distance over whitespace tokens / ground-truth words."""
    pairs = _pairs(preds, gts)
    dist = sum(editdistance.eval(p.split(), g.split()) for p, g in pairs)
    return dist / max(1, sum(len(g.split()) for _, g in pairs))


def accuracy_by_length(preds: Sequence[str], gts: Sequence[str], mode: str = "36",
                       buckets=LENGTH_BUCKETS) -> dict[str, dict]:
    """Word accuracy per bucket of (normalised) ground-truth length: ``{"1-3": {n, accuracy}}``;
    the last bucket is open-ended (``10+``). Samples outside every bucket are left out."""
    out = {}
    for lo, hi in buckets:
        name = f"{lo}+" if hi >= 10 ** 9 else f"{lo}-{hi}"
        sel = [(p, g) for p, g in _pairs(preds, gts) if lo <= len(_norm(g, mode)) <= hi]
        acc = word_accuracy([p for p, _ in sel], [g for _, g in sel], mode) if sel else 0.0
        out[name] = {"n": len(sel), "accuracy": acc}
    return out


def recognition_report(preds: Sequence[str], gts: Sequence[str]) -> dict:
    """All recognition metrics at once."""
    return {"n": len(gts), "accuracy_36": word_accuracy(preds, gts, "36"),
            "accuracy_cased": word_accuracy(preds, gts, "cased"),
            "one_minus_ned": one_minus_ned(preds, gts), "cer": cer(preds, gts),
            "wer": wer(preds, gts), "by_length": accuracy_by_length(preds, gts)}


# ------------------------------------------------------------------------------- detection
def to_polygon(points) -> Polygon:
    """A valid shapely polygon from [[x, y], ...] or a flat list; invalid (self-intersecting)
    ones are repaired with make_valid / buffer(0); degenerate ones give an empty polygon."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return Polygon()
    poly = Polygon(pts)
    if not poly.is_valid:
        fixed = make_valid(poly)
        fixed = fixed if fixed.geom_type in ("Polygon", "MultiPolygon") else fixed.buffer(0)
        poly = fixed if not fixed.is_empty else poly.buffer(0)
    return poly


def _area(a) -> float:
    return float(a.area)


def iou(a, b) -> float:
    """Intersection over union of two shapely geometries (0 when the union is empty)."""
    union = a.union(b).area
    return 0.0 if union == 0 else a.intersection(b).area / union


class DetectionScore:
    """Accumulates ICDAR2015-style matching over images; ``result()`` gives the micro scores.

    Per image: a prediction whose area lies more than ``ignore_thr`` inside one don't-care gt is
    discarded (neither hit nor false alarm); then gts are visited in order and each is matched to
    the first unmatched prediction with IoU > ``iou_thr`` (one-to-one, as the official script).
    Don't-care gts are not counted. Empty denominators give 1 (nothing to find / nothing claimed).
    """

    def __init__(self, iou_thr: float = 0.5, ignore_thr: float = 0.5):
        self.iou_thr, self.ignore_thr = iou_thr, ignore_thr
        self.tp = self.num_pred = self.num_gt = 0

    def _care_preds(self, preds: list, dont_care: list) -> list:
        kept = []
        for p in preds:
            area = _area(p)
            inside = max((p.intersection(d).area for d in dont_care), default=0.0)
            if not (area > 0 and inside / area > self.ignore_thr):
                kept.append(p)
        return kept

    def update(self, preds, gts, ignores=None) -> int:
        """Add one image; returns its true-positive count."""
        ignores = list(ignores) if ignores is not None else [False] * len(gts)
        if len(ignores) != len(gts):
            raise ValueError(f"{len(gts)} gt polygons but {len(ignores)} ignore flags")
        gpolys = [to_polygon(g) for g in gts]
        care = [g for g, ign in zip(gpolys, ignores) if not ign]
        dont = [g for g, ign in zip(gpolys, ignores) if ign]
        ppolys = self._care_preds([to_polygon(p) for p in preds], dont)
        used, tp = [False] * len(ppolys), 0
        for g in care:
            for j, p in enumerate(ppolys):
                if not used[j] and iou(g, p) > self.iou_thr:
                    used[j] = True
                    tp += 1
                    break
        self.tp += tp
        self.num_pred += len(ppolys)
        self.num_gt += len(care)
        return tp

    def result(self) -> dict:
        """precision, recall, hmean, tp, num_pred, num_gt."""
        p = self.tp / self.num_pred if self.num_pred else 1.0
        r = self.tp / self.num_gt if self.num_gt else 1.0
        h = 2 * p * r / (p + r) if p + r > 0 else 0.0
        return {"precision": p, "recall": r, "hmean": h, "tp": self.tp,
                "num_pred": self.num_pred, "num_gt": self.num_gt}


def evaluate_detection(pred_polys_per_image, gt_polys_per_image, gt_ignore_per_image=None,
                       iou_thr: float = 0.5, ignore_thr: float = 0.5) -> dict:
    """ICDAR-style detection scores over a set of images (see :class:`DetectionScore`)."""
    if len(pred_polys_per_image) != len(gt_polys_per_image):
        raise ValueError(f"{len(pred_polys_per_image)} prediction lists but "
                         f"{len(gt_polys_per_image)} gt lists")
    ignores = gt_ignore_per_image or [None] * len(gt_polys_per_image)
    score = DetectionScore(iou_thr, ignore_thr)
    for preds, gts, ign in zip(pred_polys_per_image, gt_polys_per_image, ignores):
        score.update(preds, gts, ign)
    return score.result()


# ----------------------------------------------------------------------------------- pages
def normalize_ws(text: str) -> str:
    """Collapse every whitespace run (newlines included) to one space and trim."""
    return " ".join(text.split())


def page_cer(pred: str, gt: str) -> float:
    """CER of one page on whitespace-normalised text: ED / len(gt) (ED / 1 for an empty gt)."""
    p, g = normalize_ws(pred), normalize_ws(gt)
    return editdistance.eval(p, g) / max(1, len(g))


def _bag_counts(pred: str, gt: str) -> tuple[int, int, int]:
    """(matched words, predicted words, gt words) with multiset intersection."""
    p, g = Counter(pred.split()), Counter(gt.split())
    return sum((p & g).values()), sum(p.values()), sum(g.values())


def _prf(match: int, npred: int, ngt: int) -> dict:
    prec = match / npred if npred else (1.0 if ngt == 0 else 0.0)
    rec = match / ngt if ngt else (1.0 if npred == 0 else 0.0)
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return {"precision": prec, "recall": rec, "f1": f1}


def word_f1(pred: str, gt: str) -> dict:
    """Bag-of-words precision/recall/F1 of one page over whitespace tokens (case-sensitive)."""
    return _prf(*_bag_counts(pred, gt))


def page_scores(preds: Sequence[str], gts: Sequence[str]) -> dict:
    """Micro-averaged page metrics over a set: ``cer`` (sum ED / sum gt chars, whitespace-
    normalised) and word ``precision``/``recall``/``f1`` (summed matches and token counts)."""
    pairs = _pairs(preds, gts)
    dist = sum(editdistance.eval(normalize_ws(p), normalize_ws(g)) for p, g in pairs)
    chars = sum(len(normalize_ws(g)) for _, g in pairs)
    counts = np.array([_bag_counts(p, g) for p, g in pairs] or [[0, 0, 0]]).sum(axis=0)
    return {"n": len(pairs), "cer": dist / max(1, chars), **_prf(*map(int, counts))}
