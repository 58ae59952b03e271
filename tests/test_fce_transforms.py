"""Polygon-aware augmentation keeps image and polygons consistent; LMDB detection dataset."""
import cv2
import numpy as np
import pytest
import torch

from ocr.data.det_dataset import DetLmdbDataset, collate
from ocr.data.det_transforms import normalize_image
from ocr.data.det_transforms import (AugmentConfig, DetAugment, choose_crop, clip_polygons,
                                     resize_for_test, scale_rotate, transform_points, warp_image)
from ocr.data.fce_targets import rasterize
from ocr.data.lmdb_store import DET_SCHEMA, LmdbWriter


def arc(cx, cy, r_in, r_out, a0, a1, m=7):
    t = np.linspace(a0, a1, m)
    top = np.stack([cx + r_out * np.cos(t), cy - r_out * np.sin(t)], 1)[::-1]
    bottom = np.stack([cx + r_in * np.cos(t), cy - r_in * np.sin(t)], 1)
    return np.concatenate([top, bottom]).astype(np.float32)


POLYS = [arc(200, 180, 50, 90, 0.4, 2.7), np.array([[30, 240], [150, 230], [155, 270], [35, 285]], np.float32)]


def _masks(h=300, w=400):
    img = np.zeros((h, w, 3), np.uint8)
    for c, p in enumerate(POLYS):
        img[..., c] = (rasterize((h, w), [p]) * 255).astype(np.uint8)
    return img


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


@pytest.mark.parametrize("seed", range(6))
def test_warp_keeps_polygons_exact(seed):
    """Draw filled polygons, transform image and polygons, compare masks with rasters."""
    rng = np.random.default_rng(seed)
    img = _masks()
    aug = DetAugment(AugmentConfig(size=320, scale_range=(0.9, 1.6), rotate_prob=1.0, any_angle_prob=0.5))
    m = aug.sample_matrix(img.shape[:2], POLYS, [False, False], rng)
    out = warp_image(img, m, (320, 320))
    for c, p in enumerate(POLYS):
        want = rasterize((320, 320), [transform_points(p, m)]) > 0
        got = out[..., c] > 127
        if want.sum() > 200:  # visible enough to compare
            assert _iou(got, want) > 0.95


@pytest.mark.parametrize("seed", range(4))
def test_full_augment_polygons_match_pixels(seed):
    rng = np.random.default_rng(100 + seed)
    aug = DetAugment(AugmentConfig(size=256, rotate_prob=1.0, color_prob=0.0))
    out, polys, ignore = aug(_masks(), POLYS, [False, False], rng)
    assert out.shape == (256, 256, 3) and len(polys) == len(ignore)
    got = (out[..., 0] > 127) | (out[..., 1] > 127)
    want = rasterize((256, 256), polys) > 0
    if want.sum() > 200:
        assert _iou(got, want) > 0.95
    for p in polys:
        assert p.min() >= -1e-3 and p.max() <= 256 + 1e-3


def test_scale_rotate_canvas_holds_image():
    m, (cw, ch) = scale_rotate((100, 200), 1.5, 0.5, 30)
    corners = transform_points(np.array([[0, 0], [200, 0], [200, 100], [0, 100]]), m)
    assert corners.min() >= -1e-4 and corners[:, 0].max() <= cw + 1e-4 and corners[:, 1].max() <= ch + 1e-4


@pytest.mark.parametrize("scale_base,expected", [(0, 256 / 400), (1024, 1024 / 400)])
def test_zoom_is_relative_to_scale_base(scale_base, expected):
    cfg = AugmentConfig(size=256, scale_range=(1.0, 1.0), scale_base=scale_base, aspect_range=(1.0, 1.0),
                        rotate_prob=0.0)
    m = DetAugment(cfg).sample_matrix((300, 400), POLYS, [False, False], np.random.default_rng(0))
    assert np.linalg.det(m[:, :2]) == pytest.approx(expected ** 2)


def test_crop_avoids_cutting_text():
    rng = np.random.default_rng(0)
    boxes = np.array([[x, y, x + 60, y + 20] for x in range(0, 900, 120) for y in range(0, 900, 100)], np.float32)
    cfg = AugmentConfig(size=256)
    for _ in range(20):
        x0, y0 = choose_crop(boxes, (900.0, 900.0), 256, cfg, rng)
        inside = (boxes[:, 0] >= x0) & (boxes[:, 2] <= x0 + 256) & (boxes[:, 1] >= y0) & (boxes[:, 3] <= y0 + 256)
        overlap = (boxes[:, 2] > x0) & (boxes[:, 0] < x0 + 256) & (boxes[:, 3] > y0) & (boxes[:, 1] < y0 + 256)
        assert inside.any() and not (overlap & ~inside).any()


def test_clip_marks_mostly_cut_text_ignored():
    a = np.array([[-80, 10], [20, 10], [20, 40], [-80, 40]], np.float32)  # 20% inside
    b = np.array([[-10, 50], [90, 50], [90, 80], [-10, 80]], np.float32)  # 90% inside
    polys, ignore = clip_polygons([a, b], [False, False], 100, 100, keep_ratio=0.6)
    assert ignore == [True, False]
    assert polys[1][:, 0].min() == pytest.approx(0)


def test_resize_for_test_scale_is_exact():
    img = np.zeros((300, 500, 3), np.uint8)
    out, (sx, sy) = resize_for_test(img, 640, "long")
    assert out.shape[:2] == (384, 640) and sx == pytest.approx(640 / 500) and sy == pytest.approx(384 / 300)
    out, _ = resize_for_test(img, 640, "short", max_size=800)
    assert max(out.shape[:2]) == 800


def _make_store(path, n=3):
    img = np.full((200, 320, 3), 235, np.uint8)
    line = [[20, 60], [260, 60], [260, 100], [20, 100]]
    cv2.fillPoly(img, [np.array(line, np.int32)], (20, 20, 20))
    ok, buf = cv2.imencode(".png", img)
    ann = {"width": 320, "height": 200, "lines": [{"polygon": line, "text": "TOTAL 12.50", "ignore": False},
                                                   {"polygon": [[20, 150], [90, 150], [90, 170], [20, 170]],
                                                    "text": "###", "ignore": True}]}
    with LmdbWriter(path, schema=DET_SCHEMA) as w:
        for _ in range(n):
            w.add(buf.tobytes(), ann)
    return str(path)


def test_dataset_train_and_eval(tmp_path):
    path = _make_store(tmp_path / "det")
    ds = DetLmdbDataset(path, train=True, image_size=128, granularity="split_lines", seed=1)
    images, targets = collate([ds[0], ds[(1, 7)]])
    assert images.shape == (2, 3, 128, 128)
    assert targets["p3"].shape == (2, 25, 16, 16) and targets["p5"].shape == (2, 25, 4, 4)
    again = ds[0][0]
    assert torch.equal(again, images[0])  # augmentation is seeded by (seed, draw)
    ev = DetLmdbDataset(path, train=False, test_size=256)
    images, metas = collate([ev[0], ev[1]])
    assert images.shape == (2, 3, 160, 256)
    meta = metas[0]
    assert meta["scale"] == pytest.approx((0.8, 0.8)) and meta["image_size"] == (200, 320)
    assert meta["texts"] == ["TOTAL 12.50", "###"] and meta["ignore"] == [False, True]


def test_normalize_image():
    x = normalize_image(np.full((4, 5, 3), 255, np.uint8))
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    assert x[0, 0, 0] == pytest.approx((1 - 0.485) / 0.229)
    img = np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)  # each channel its own mean/std
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    assert np.allclose(normalize_image(img), ((img / 255.0 - mean) / std).transpose(2, 0, 1), atol=1e-6)
