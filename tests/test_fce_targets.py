"""FCE target generation: sidelines, centre regions, level assignment, ignore masks."""
import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon

from ocr.data.det_dataset import parse_annotation, split_line
from ocr.data.fce_targets import (FCETargetGenerator, find_sidelines, fourier_to_points, rasterize,
                                  text_height)


def arc(cx, cy, r_in, r_out, a0, a1, m=7):
    t = np.linspace(a0, a1, m)
    top = np.stack([cx + r_out * np.cos(t), cy - r_out * np.sin(t)], 1)[::-1]
    bottom = np.stack([cx + r_in * np.cos(t), cy - r_in * np.sin(t)], 1)
    return np.concatenate([top, bottom]).astype(np.float32)


def rotate(p, deg, c=(200, 200)):
    a = np.deg2rad(deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return ((p - c) @ r.T + c).astype(np.float32)


def _caps_ok(poly, h):
    top, bottom = find_sidelines(poly)
    return all(abs(np.linalg.norm(top[i] - bottom[i]) - h) < 0.35 * h for i in (0, -1))


def test_rasterize_is_exact():
    square = np.array([[2.3, 2.3], [12.3, 2.3], [12.3, 12.3], [2.3, 12.3]])
    m = rasterize((20, 20), [square])
    ys, xs = np.nonzero(m)
    assert m.sum() == 100 and xs.min() == 2 and xs.max() == 11


@pytest.mark.parametrize("angle", [0, 35, 90, 160, 250])
def test_sidelines_curved_quads_and_dense_contours(angle):
    curved = rotate(arc(200, 200, 40, 60, 0.3, 2.8), angle)
    assert _caps_ok(curved, 20)
    top, bottom = find_sidelines(curved)
    assert len(top) == len(bottom) == 7 and np.allclose(top[0], curved[0])
    quad = rotate(np.array([[100, 180], [300, 180], [300, 220], [100, 220]], np.float32), angle)
    assert _caps_ok(quad, 40)
    mask = rasterize((400, 400), [curved]).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    dense = contours[0].reshape(-1, 2).astype(np.float32) + 0.5
    assert len(dense) > 100 and _caps_ok(dense, 20)
    assert text_height(curved) == pytest.approx(20, rel=0.1)


def test_targets_curved_instances():
    gen = FCETargetGenerator(fourier_degree=5)
    small = arc(60, 110, 20, 32, 1.1, 2.0)  # 28 px of 256: ratio 0.11 -> p3 only
    large = arc(128, 300, 120, 170, 1.1, 2.04)  # 154 px: ratio 0.6 -> p4 and p5
    ignored = np.array([[180, 20], [240, 20], [240, 50], [180, 50]], np.float32)
    maps = gen([small, large, ignored], [False, False, True], (256, 256))
    assert maps["p3"].shape == (3 + 22, 32, 32) and maps["p5"].shape == (25, 8, 8)
    assert maps["p3"][0].sum() > 0 and maps["p4"][0].sum() > 0 and maps["p5"][0].sum() > 0
    assert maps["p3"][0][15:].sum() == 0  # the large text is not a p3 target
    assert maps["p4"][0][:7, :7].sum() == 0  # the small text is not a p4 target
    for key, m in maps.items():
        text, center, eff = m[0], m[1], m[2]
        assert center.sum() > 0 and center.sum() < text.sum()
        assert (center <= text).all()  # centre region inside the text region
        assert eff.min() == 0 and (eff[text > 0] == 1).all()  # only the ignored word masked
        assert set(np.unique(text)) <= {0.0, 1.0}


def test_every_text_pixel_regresses_the_contour():
    k, stride = 5, 16
    poly = arc(128, 300, 120, 170, 1.1, 2.04)
    m = FCETargetGenerator(fourier_degree=k)([poly], [False], (256, 256))["p4"]
    n = 2 * k + 1
    ys, xs = np.nonzero(m[0])
    for y, x in zip(ys[::7], xs[::7]):
        c = m[3:3 + n, y, x] + 1j * m[3 + n:, y, x]
        c[k] += (x + 0.5) + 1j * (y + 0.5)
        rec = fourier_to_points(c * stride, 50)
        a, b = Polygon(rec).buffer(0), Polygon(poly)
        assert a.intersection(b).area / a.union(b).area > 0.9


def test_split_line_by_character_share():
    line = np.array([[10, 10], [210, 10], [210, 40], [10, 40]], np.float32)
    parts = split_line(line, "ab cd")
    assert [t for _, t in parts] == ["ab", "cd"]
    (p1, _), (p2, _) = parts
    assert p1[:, 0].min() == pytest.approx(10) and p1[:, 0].max() == pytest.approx(90)
    assert p2[:, 0].min() == pytest.approx(130) and p2[:, 0].max() == pytest.approx(210)
    curved = arc(200, 200, 40, 60, 0.5, 2.6)
    words = split_line(curved, "one two three")
    assert len(words) == 3
    assert sum(Polygon(p).area for p, _ in words) < Polygon(curved).area
    assert all(Polygon(p).is_valid for p, _ in words)


def test_parse_annotation_modes():
    line = {"polygon": [[0, 0], [100, 0], [100, 20], [0, 20]], "text": "A B", "ignore": False}
    hidden = {"polygon": [[0, 30], [50, 30], [50, 50], [0, 50]], "text": "###"}
    ann = {"lines": [line, hidden]}
    polys, ignore, texts = parse_annotation(ann, "words")
    assert len(polys) == 2 and ignore == [False, True]
    polys, ignore, texts = parse_annotation(ann, "split_lines")
    assert texts == ["A", "B", "###"] and ignore == [False, False, True]
    ann["words"] = [{"polygon": [[0, 0], [40, 0], [40, 20], [0, 20]], "text": "A"}]
    assert parse_annotation(ann, "split_lines")[2] == ["A"]
    assert parse_annotation(ann, "lines")[2] == ["A B", "###"]
