"""Rectification: rotated quads, curved bands, tall crops."""
import cv2
import numpy as np

from ocr.pipeline.rectify import crop_polygon, is_curved, order_quad, upright_candidates


def _rotated_word(angle: float):
    """White image with a 200x50 box turned by ``angle`` degrees: top half black, bottom half grey."""
    img = np.full((400, 400, 3), 255, np.uint8)
    a = np.deg2rad(angle)
    d, n = np.float32([np.cos(a), np.sin(a)]), np.float32([-np.sin(a), np.cos(a)])  # along, down
    c = np.float32([200, 200])
    quad = np.float32([c - 100 * d - 25 * n, c + 100 * d - 25 * n, c + 100 * d + 25 * n, c - 100 * d + 25 * n])
    box = quad
    # draw in the word's own frame so its "top" is known
    src = np.float32([[0, 0], [200, 0], [200, 50], [0, 50]])
    word = np.full((50, 200, 3), 128, np.uint8)
    word[:25] = 0
    m = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(word, m, (400, 400), flags=cv2.INTER_NEAREST)
    mask = cv2.warpPerspective(np.ones((50, 200), np.uint8), m, (400, 400), flags=cv2.INTER_NEAREST)
    img[mask > 0] = warped[mask > 0]
    return img, box


def test_rotated_quad_gives_upright_crop_of_expected_size():
    for angle in (-30, 20):
        img, box = _rotated_word(angle)
        crop = crop_polygon(img, box[::-1])  # point order must not matter
        h, w = crop.shape[:2]
        assert abs(w - 200) <= 2 and abs(h - 50) <= 2
        inner = crop[4:-4, 4:-4, 0].astype(float)
        assert inner[: inner.shape[0] // 2 - 3].mean() < 20  # dark half on top
        assert abs(inner[inner.shape[0] // 2 + 3:].mean() - 128) < 20


def test_vertical_word_gives_tall_crop_then_turned_candidates():
    img, box = _rotated_word(90)  # reads top to bottom; its top half faces right... or left
    crop = crop_polygon(img, box)
    assert crop.shape[0] > 3 * crop.shape[1]
    cands = upright_candidates(crop)
    assert len(cands) == 3 and all(c.shape[1] > c.shape[0] for c in cands[:2])
    tops = [c[5:20, 10:-10, 0].mean() for c in cands[:2]]
    assert min(tops) < 20  # one of the two turns puts the dark half on top
    assert upright_candidates(np.zeros((20, 60, 3), np.uint8))[0].shape == (20, 60, 3)


def _arc_band():
    """Concentric rings (stripes 20 px) and a band polygon following them (radii 200..280)."""
    yy, xx = np.mgrid[0:400, 0:600]
    r = np.hypot(xx - 300, yy - 420)
    img = np.repeat((((r - 200) // 20).astype(int) % 2 * 255).astype(np.uint8)[..., None], 3, axis=2)
    th = np.linspace(np.deg2rad(200), np.deg2rad(340), 40)
    outer = np.stack([300 + 280 * np.cos(th), 420 + 280 * np.sin(th)], 1)
    inner = np.stack([300 + 200 * np.cos(th[::-1]), 420 + 200 * np.sin(th[::-1])], 1)
    return img, np.vstack([outer, inner])


def test_curved_band_is_straightened():
    img, poly = _arc_band()
    assert is_curved(poly.astype(np.float32))
    crop = crop_polygon(img, poly)
    h, w = crop.shape[:2]
    assert abs(h - 80) <= 4 and abs(w - 240 * np.deg2rad(140)) < 30  # mean radius x angle
    g = crop[..., 0].astype(float)
    rows_mean = g.mean(axis=1)
    deviation = np.abs(g - rows_mean[:, None]).mean()
    assert deviation < 15  # each row follows one ring: nearly constant
    assert g[2:8].mean() > 220 and g[22:28].mean() < 30  # outermost ring (white) on top


def test_order_quad_starts_top_left_clockwise():
    q = order_quad(np.float32([[0, 10], [0, 0], [30, 0], [30, 10]]))  # counter-clockwise, from bl
    assert q.tolist() == [[0, 0], [30, 0], [30, 10], [0, 10]]


def test_margin_lengthens_quads_and_curved_bands_along_the_text():
    img, box = _rotated_word(20)
    crop = crop_polygon(img, box, margin=0.2)
    assert abs(crop.shape[1] - (200 + 2 * 0.2 * 50)) <= 2 and abs(crop.shape[0] - 50) <= 2
    img, poly = _arc_band()
    tight, grown = crop_polygon(img, poly), crop_polygon(img, poly, margin=0.25)
    assert abs(grown.shape[0] - tight.shape[0]) <= 2  # same thickness
    assert abs(grown.shape[1] - (tight.shape[1] + 2 * 0.25 * 80)) <= 6  # 20 px more at each end
    g = grown[..., 0].astype(float)
    assert np.abs(g - g.mean(axis=1)[:, None]).mean() < 15  # the extension still follows the rings


def test_small_glyph_contour_is_cropped_as_a_box_lengthened_sideways():
    """A colon's contour (tall, blobby, 50 points) is no curved band: it is cut as its rectangle
    and lengthened along the line, not stretched upwards."""
    img = np.full((60, 60, 3), 255, np.uint8)
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    blob = np.stack([30 + 3 * np.cos(t) * (1 + 0.4 * np.cos(2 * t)), 30 + 7 * np.sin(t)], 1)
    assert not is_curved(blob)
    crop = crop_polygon(img, blob, margin=0.2)
    assert crop.shape[1] > 8 and crop.shape[0] <= 16


def test_only_tall_crops_well_above_the_page_text_height_may_be_turned():
    from ocr.pipeline.recognize import turnable_on_page

    line = [np.zeros((20, 80, 3), np.uint8)] * 5
    colon, vertical = np.zeros((18, 6, 3), np.uint8), np.zeros((120, 22, 3), np.uint8)
    assert turnable_on_page(line + [colon, vertical])[-2:] == [False, True]
    assert turnable_on_page([colon, vertical]) == [True, True]  # no horizontal text to compare with
