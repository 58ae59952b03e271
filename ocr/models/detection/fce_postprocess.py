"""FCENet post-processing: score maps -> Fourier signatures -> contours -> polygon NMS.

For every level, pixels whose fused score ``text^alpha * center^beta`` exceeds ``score_thr``
each propose one contour (inverse Fourier transform of their regressed coefficients, ``c_0``
relative to the pixel centre, scaled by the level stride). Proposals of all levels go through
greedy polygon NMS (shapely); survivors are mapped back to the original image, clipped to it and
ordered clockwise starting at the vertex nearest the top-left of their bounding box.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
import shapely
from shapely.geometry import box

from ocr.data.fce_targets import fourier_to_points
from ocr.geometry import clip_polygons, order_polygon, order_polygons, repair, signed_area, signed_areas
from ocr.models.decoding import as_numpy


@dataclass(frozen=True)
class FCEPostprocessor:
    """Decoder of the raw FCENet outputs (``{"p3": (B, 4 + 2(2k+1), h, w), ...}``, numpy arrays or
    tensors). Needs no PyTorch: the ONNX file run alone (``ocr.runtime.standalone``) rebuilds it
    from ``spec()``."""

    fourier_degree: int = 5
    score_thr: float = 0.3
    nms_thr: float = 0.1
    alpha: float = 1.0
    beta: float = 2.0
    num_points: int = 50
    min_area: float = 4.0

    def __call__(self, outputs: dict, scales=None, image_sizes=None) -> list[list[dict]]:
        """``scales[b] = (sx, sy)``: factors that took image ``b`` from original to network pixels
        (default 1); ``image_sizes[b] = (h, w)`` of the original image, to clip to (default: the
        whole network input mapped back, padding included). Level strides come from the keys.
        Returns per image a list of ``{"polygon": (N, 2) float32, "score": float}``."""
        strides = {name: 2 ** int(name[1:]) for name in outputs}  # "p3" -> 8
        first = min(outputs, key=strides.get)
        batch, _, h0, w0 = outputs[first].shape
        in_h, in_w = h0 * strides[first], w0 * strides[first]
        maps = [(self._score_maps(t), strides[name]) for name, t in outputs.items()]
        results = []
        for b in range(batch):
            polys, scores = self._proposals([(score[b], coef[b], stride) for (score, coef), stride in maps])
            sx, sy = scales[b] if scales is not None else (1.0, 1.0)
            size = image_sizes[b] if image_sizes is not None else (in_h / sy, in_w / sx)
            results.append(self._finalize(polys, scores, (sx, sy), size))
        return results

    def spec(self) -> dict:
        """What ``from_spec`` rebuilds it from (JSON)."""
        return {"kind": "fce", **dataclasses.asdict(self)}

    @classmethod
    def from_spec(cls, spec: dict) -> FCEPostprocessor:
        return cls(**{k: v for k, v in spec.items() if k != "kind"})

    def _proposals(self, levels: list) -> tuple[np.ndarray, np.ndarray]:
        """One image: ``[(score (h, w), coef (2n, h, w), stride), ...]`` -> NMS survivors
        ``(K, P, 2)`` in network pixels and their scores. NMS runs inside each connected region
        of a level first (cheap, exact), then across regions and levels."""
        polys, scores = [], []
        for score, coef, stride in levels:
            p, s, comp = decode_level(score, coef, stride, self.fourier_degree, self.score_thr, self.num_points)
            keep = poly_nms(p, s, self.nms_thr, groups=comp)
            polys.append(p[keep])
            scores.append(s[keep])
        polys, scores = np.concatenate(polys), np.concatenate(scores)
        keep = poly_nms(polys, scores, self.nms_thr)
        return polys[keep], scores[keep]

    def _score_maps(self, out) -> tuple[np.ndarray, np.ndarray]:
        """(B, C, h, w) raw output (numpy or tensor) -> fused scores (B, h, w) and coefficient maps
        (B, 2n, h, w). A softmax over two channels is the logistic of their difference (5x cheaper)."""
        out = as_numpy(out)
        text = _sigmoid(out[:, 1] - out[:, 0])
        center = _sigmoid(out[:, 3] - out[:, 2])
        return text ** self.alpha * center ** self.beta, out[:, 4:]

    def _finalize(self, polys, scores, scale, size) -> list[dict]:
        """Contours in original pixels, clipped to the image, ordered, small ones dropped. Most lie
        inside the image as valid polygons: those are what clipping would give, so only the
        others go through shapely."""
        h, w = float(size[0]), float(size[1])
        polys = polys / np.array(scale, np.float32)
        inside = np.all((polys >= 0) & (polys <= (w, h)), axis=(1, 2))
        inside[inside] = shapely.is_valid(shapely.polygons(polys[inside]))
        found: list = [None] * len(polys)
        kept = np.nonzero(inside)[0]
        inner = polys[kept].astype(np.float32)
        big = np.abs(signed_areas(inner)) >= self.min_area
        for i, poly in zip(kept[big], order_polygons(inner[big])):
            found[i] = poly
        others = np.nonzero(~inside)[0]
        for i, clipped in zip(others, clip_polygons(polys[others], box(0, 0, w, h))):
            if clipped is not None and abs(signed_area(clipped)) >= self.min_area:
                found[i] = order_polygon(clipped)
        return [{"polygon": p, "score": float(s)} for p, s in zip(found, scores) if p is not None]


def decode_level(score: np.ndarray, coef: np.ndarray, stride: int, k: int, thr: float,
                 num_points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image, one level: ``score`` (h, w), ``coef`` (2(2k+1), h, w) -> proposals
    ``(M, num_points, 2)`` in network-input pixels, their scores ``(M,)`` and the label of the
    connected above-threshold region each comes from ``(M,)``."""
    n = 2 * k + 1
    mask = (score > thr).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return np.zeros((0, num_points, 2), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64)
    _, labels = cv2.connectedComponents(mask, connectivity=8)
    c = coef[:n, ys, xs].T.astype(np.float64) + 1j * coef[n:, ys, xs].T  # (M, 2k+1)
    c[:, k] += (xs + 0.5) + 1j * (ys + 0.5)
    pts = fourier_to_points(c * stride, num_points)
    return pts, score[ys, xs].astype(np.float32), labels[ys, xs].astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # no overflow for large |x|


def poly_nms(polys: np.ndarray, scores: np.ndarray, thr: float, groups: np.ndarray | None = None) -> np.ndarray:
    """Greedy NMS on polygons ``(M, P, 2)``; returns kept indices, best score first. Only pairs
    whose IoU bounds (``IouBounds``) leave the answer open are intersected. ``groups``: a label per
    polygon; NMS then runs within each label on its own (labels in increasing order)."""
    if len(polys) == 0:
        return np.zeros(0, np.int64)
    labels = np.zeros(len(polys), np.int64) if groups is None else np.asarray(groups)
    order = np.lexsort((-scores, labels))  # by label, then best score first (ties: as given)
    group_ends = np.append(np.nonzero(np.diff(labels[order]))[0] + 1, len(order))
    ends = group_ends[np.searchsorted(group_ends, np.arange(len(order)), side="right")]  # each one's group end
    polys = polys[order]
    geoms = repair(shapely.polygons(polys))
    areas = shapely.area(geoms)
    bounds = IouBounds(polys.min(axis=1), polys.max(axis=1), areas, ends, thr)
    alive = np.ones(len(order), bool)
    for i in range(len(order)):
        if not alive[i]:
            continue
        end = ends[i]
        above, open_ = bounds.row(i)  # against i + 1 .. end - 1: the rest of its group
        alive[i + 1:end] &= ~above
        rest = np.nonzero(alive[i + 1:end] & open_)[0] + i + 1
        if len(rest):
            inter = shapely.area(shapely.intersection(geoms[i], geoms[rest]))
            iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
            alive[rest[iou > thr]] = False
    return order[alive].astype(np.int64)


class IouBounds:
    """Which polygon pairs surely overlap by IoU above ``thr`` and which need intersecting to
    tell (the rest surely do not), from their bounding boxes and areas alone. Two polygons meet only
    inside both boxes (intersection <= the boxes' overlap) and lie inside the box around both
    (union <= its area): bounds on their IoU from above and below. Most proposals of one word are
    near copies of the best one and are settled by the lower bound. Polygon ``i`` is compared with
    ``i + 1 .. ends[i] - 1`` (the rest of its group); rows are worked out ``BLOCK`` at a time, when
    first asked for."""

    BLOCK = 128

    def __init__(self, lo: np.ndarray, hi: np.ndarray, areas: np.ndarray, ends: np.ndarray, thr: float):
        self.lo, self.hi, self.areas, self.ends, self.thr = lo, hi, areas, ends, thr
        self.margin = 1e-6 * max(thr, 1.0)  # float rounding never settles a pair the wrong way
        self.blocks: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(IoU surely above thr, not settled) masks of polygon ``i`` against the rest of its group."""
        b = i // self.BLOCK
        if b not in self.blocks:
            self.blocks[b] = self._block(b * self.BLOCK, min((b + 1) * self.BLOCK, len(self.lo)))
        first, above, open_ = self.blocks[b]
        r, cols = i - b * self.BLOCK, slice(i + 1 - first, self.ends[i] - first)
        return above[r, cols], open_[r, cols]

    def _block(self, start: int, stop: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Rows ``start:stop`` against the columns their groups reach (``start`` to the last row's end)."""
        cols = slice(start, self.ends[stop - 1])
        lo, hi = self.lo[start:stop, None], self.hi[start:stop, None]  # (R, 1, 2) against (C, 2)
        clo, chi = self.lo[cols], self.hi[cols]
        overlap = np.prod(np.clip(np.minimum(hi, chi) - np.maximum(lo, clo), 0, None), axis=2)
        joint = np.prod(np.maximum(hi, chi) - np.minimum(lo, clo), axis=2)
        total = self.areas[start:stop, None] + self.areas[None, cols]
        upper = overlap / np.maximum(total - overlap, 1e-9)  # intersection <= overlap
        lower = (total - joint) / np.maximum(joint, 1e-9)  # union <= joint: intersection >= total - joint
        above = lower > self.thr + self.margin
        return start, above, ~above & (upper > self.thr - self.margin) & (overlap > 0)
