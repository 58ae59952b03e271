"""Fourier contour embedding: round trip, normalisation, and decoding hand-made output maps."""
import numpy as np
import pytest
import torch
from shapely.geometry import Polygon

from ocr.data.fce_targets import fourier_to_points, poly_to_fourier
from ocr.geometry import signed_area
from ocr.models.detection.fce_postprocess import FCEPostprocessor, poly_nms


def arc(cx, cy, r_in, r_out, a0, a1, m=7):
    """A curved text band (CTW1500 style: m top points left->right, m bottom points back)."""
    t = np.linspace(a0, a1, m)
    top = np.stack([cx + r_out * np.cos(t), cy - r_out * np.sin(t)], 1)[::-1]
    bottom = np.stack([cx + r_in * np.cos(t), cy - r_in * np.sin(t)], 1)
    return np.concatenate([top, bottom]).astype(np.float32)


def iou(a, b):
    pa, pb = Polygon(a).buffer(0), Polygon(b).buffer(0)
    return pa.intersection(pb).area / pa.union(pb).area


# curved word-like bands (length / height about 2) and a tilted quad
WORDS = [arc(100, 150, 60, 90, 1.2, 1.95), arc(200, 0, 50, 80, -2.0, -1.1),
         arc(120, 120, 40, 62, 1.1, 2.0, m=5),
         np.array([[10, 10], [80, 16], [78, 45], [8, 39]], np.float32)]


@pytest.mark.parametrize("poly", WORDS)
def test_round_trip_k5_words(poly):
    rec = fourier_to_points(poly_to_fourier(poly, 5), 50)
    assert iou(poly, rec) > 0.95


def test_round_trip_longer_curved_word_k8():
    poly = arc(100, 150, 60, 90, 1.0, 2.1)  # length / height ~ 2.8: k=5 gives ~0.94
    assert iou(poly, fourier_to_points(poly_to_fourier(poly, 8), 50)) > 0.95


def test_round_trip_long_curved_line_needs_higher_k():
    line = arc(200, 200, 120, 150, 0.4, 2.7, m=10)  # length/height ~ 9
    assert iou(line, fourier_to_points(poly_to_fourier(line, 12), 100)) > 0.95


def test_signature_ignores_start_and_orientation():
    poly = WORDS[0]
    c = poly_to_fourier(poly, 5)
    rolled = np.roll(poly, 3, axis=0)
    ccw = poly[::-1].copy()
    np.testing.assert_allclose(poly_to_fourier(rolled, 5), c, atol=0.3)
    np.testing.assert_allclose(poly_to_fourier(ccw, 5), c, atol=0.3)
    rec = fourier_to_points(c, 40)
    assert signed_area(rec) > 0  # clockwise on screen
    assert rec[0, 1] < rec[:, 1].mean()  # starts on the top side


def _hand_made_outputs(poly, stride, pixels, k=5, size=128):
    """Raw outputs where ``pixels`` of the ``stride`` level predict ``poly`` (input pixels)."""
    n = 2 * k + 1
    out = {}
    for s in (8, 16, 32):
        t = torch.zeros(1, 4 + 2 * n, size // s, size // s)
        t[:, 0], t[:, 2] = 8.0, 8.0  # background everywhere
        out[f"p{int(np.log2(s))}"] = t
    c = poly_to_fourier(poly / stride, k)
    t = out[f"p{int(np.log2(stride))}"]
    for y, x in pixels:
        t[0, 0:4, y, x] = torch.tensor([-6.0, 6.0, -6.0, 6.0])
        cc = c.copy()
        cc[k] -= (x + 0.5) + 1j * (y + 0.5)
        t[0, 4:4 + n, y, x] = torch.from_numpy(cc.real.astype(np.float32))
        t[0, 4 + n:, y, x] = torch.from_numpy(cc.imag.astype(np.float32))
    return out


def test_decode_hand_made_maps():
    poly = arc(64, 110, 40, 62, 1.0, 2.1)  # ~45 px wide: level P4
    out = _hand_made_outputs(poly, 16, [(4, 3), (4, 4), (3, 4)])
    dets = FCEPostprocessor(score_thr=0.3)(out)
    assert len(dets) == 1 and len(dets[0]) == 1  # three proposals, one after NMS
    det = dets[0][0]
    assert det["score"] > 0.99
    assert iou(det["polygon"], poly) > 0.93
    p = det["polygon"]
    assert signed_area(p) > 0
    assert np.argmin(np.linalg.norm(p - p.min(0), axis=1)) == 0  # starts top-left


def test_decode_maps_back_to_original_and_clips():
    poly = np.array([[-20, 30], [70, 30], [70, 60], [-20, 60]], np.float32)  # sticks out left
    out = _hand_made_outputs(poly, 16, [(2, 1)])
    det = FCEPostprocessor()(out, scales=[(0.5, 0.25)], image_sizes=[(500, 200)])[0][0]
    p = det["polygon"]
    assert p[:, 0].min() >= 0 and p[:, 0].max() == pytest.approx(140, abs=4)
    assert p[:, 1].min() == pytest.approx(120, abs=6) and p[:, 1].max() == pytest.approx(240, abs=6)


def test_poly_nms_keeps_disjoint():
    a = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float32)
    polys = np.stack([a, a + 1, a + 30])
    keep = poly_nms(polys, np.array([0.9, 0.8, 0.7]), 0.1)
    assert keep.tolist() == [0, 2]


def _nms_every_pair(polys, scores, thr):
    """Greedy NMS intersecting every pair (what poly_nms's bounding-box filter must not change)."""
    order = np.argsort(-scores, kind="stable")
    shapes = [Polygon(p).buffer(0) for p in polys]
    keep = []
    for i in order:
        if all(shapes[i].intersection(shapes[k]).area / max(shapes[i].union(shapes[k]).area, 1e-9) <= thr
               for k in keep):
            keep.append(int(i))
    return keep


def test_poly_nms_matches_intersecting_every_pair():
    rng = np.random.default_rng(3)
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    for _ in range(20):  # clusters of boxes, some far apart, some overlapping across clusters
        n = int(rng.integers(2, 30))
        centres = rng.uniform(0, 60, (n, 2)).astype(np.float32)
        sizes = rng.uniform(4, 20, (n, 2)).astype(np.float32)
        polys = square[None] * sizes[:, None] + centres[:, None]
        scores = rng.uniform(0, 1, n).astype(np.float32)
        assert poly_nms(polys, scores, 0.1).tolist() == _nms_every_pair(polys, scores, 0.1)
        labels = rng.integers(0, 3, n)  # within each label on its own, labels in increasing order
        each = [int(np.nonzero(labels == g)[0][k]) for g in np.unique(labels)
                for k in _nms_every_pair(polys[labels == g], scores[labels == g], 0.1)]
        assert poly_nms(polys, scores, 0.1, groups=labels).tolist() == each



def test_poly_nms_bounds_settle_near_copies_exactly():
    """Proposals as FCENet makes them: hundreds of jittered copies of curved and tilted words (more
    than one block of ``IouBounds`` rows), most settled by the bounds alone. The kept set is what
    intersecting every pair gives, in one group and in several."""
    rng = np.random.default_rng(5)
    polys, labels = [], []
    for w, word in enumerate(WORDS):
        resampled = fourier_to_points(poly_to_fourier(word, 5), 50)
        for _ in range(70):
            scale = rng.uniform(0.6, 1.4)
            centre = resampled.mean(0)
            polys.append((resampled - centre) * scale + centre + rng.normal(0, 12, 2))
            labels.append(w % 2)
    polys, labels = np.asarray(polys, np.float32), np.asarray(labels)
    scores = rng.uniform(0, 1, len(polys)).astype(np.float32)
    for thr in (0.1, 0.3, 0.5):
        assert poly_nms(polys, scores, thr).tolist() == _nms_every_pair(polys, scores, thr)
        each = [int(np.nonzero(labels == g)[0][k]) for g in np.unique(labels)
                for k in _nms_every_pair(polys[labels == g], scores[labels == g], thr)]
        assert poly_nms(polys, scores, thr, groups=labels).tolist() == each

def test_score_maps_are_the_softmax_of_each_pair():
    out = torch.randn(2, 4 + 22, 5, 7) * 8
    score, coef = FCEPostprocessor()._score_maps(out)
    text, center = out[:, 0:2].softmax(1)[:, 1], out[:, 2:4].softmax(1)[:, 1]
    assert np.allclose(score, (text * center ** 2).numpy(), atol=1e-6)
    assert np.array_equal(coef, out[:, 4:].numpy())


def test_finalize_skips_clipping_only_where_clipping_changes_nothing():
    """Contours inside the image and valid are kept without shapely; those crossing its edge, or
    self-intersecting, are clipped. Either way the result is what clipping every one gives."""
    from shapely.geometry import box

    from ocr.geometry import clip_polygons, order_polygon

    rng = np.random.default_rng(0)
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    polys = []
    for cx, cy, rx, ry in [(60, 40, 30, 8), (5, 40, 20, 6), (100, 75, 30, 10), (50, 50, 1, 1), (70, 20, 25, 9)]:
        polys.append(np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1) + rng.normal(0, 0.3, (50, 2)))
    polys[4] = polys[4][::-1]  # counter-clockwise on screen
    bowtie = np.array(polys[0])
    bowtie[10:25] = bowtie[24:9:-1] + [0, 15]  # crosses itself
    polys.append(bowtie)
    polys = np.stack(polys).astype(np.float64) * 2  # network pixels: scale 2 to the original
    scores = np.linspace(0.9, 0.5, len(polys)).astype(np.float32)
    post = FCEPostprocessor(min_area=10.0)
    got = post._finalize(polys, scores, (2.0, 2.0), (80, 120))  # image 120 wide, 80 high
    want = []
    for clipped, s in zip(clip_polygons(polys / 2, box(0, 0, 120, 80)), scores):
        if clipped is not None and abs(signed_area(clipped)) >= 10.0:
            want.append((order_polygon(clipped), float(s)))
    assert [d["score"] for d in got] == [s for _, s in want]
    assert len(got) == 5  # the 2x2 px blob is dropped
    for d, (poly, _) in zip(got, want):
        assert d["polygon"].shape == poly.shape
        np.testing.assert_allclose(d["polygon"], poly, atol=1e-4)
        assert signed_area(d["polygon"]) > 0
    assert got[1]["polygon"][:, 0].min() == 0.0 and got[2]["polygon"][:, 1].max() == 80.0  # clipped
