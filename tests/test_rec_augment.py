"""Recognition augmentation: the light profile keeps a crop's frame; the scene profile turns and bends."""
import cv2
import numpy as np
import pytest

from ocr.data.rec_transforms import RecAugment


def bar_crop(h=32, w=160):
    """A dark horizontal bar (a stand-in for a line of text) on a light crop."""
    img = np.full((h, w, 3), 220, np.uint8)
    img[h // 2 - 3:h // 2 + 3, 10:w - 10] = 20
    return img


def ink_angle(img) -> float:
    """Angle in degrees of the dark ink's main axis (0 = horizontal)."""
    ys, xs = np.nonzero(img[..., 0] < 100)
    pts = np.stack([xs, ys], 1).astype(np.float32)
    vx, vy = cv2.fitLine(pts, cv2.DIST_L2, 0, 0.01, 0.01).ravel()[:2]
    return float(np.degrees(np.arctan2(abs(vy), abs(vx))))


def test_turn_rotates_the_text_inside_a_larger_upright_box():
    img = bar_crop()
    out = RecAugment._turn(img, np.random.default_rng(0))
    assert out.shape[0] > img.shape[0] and out.dtype == np.uint8
    angle = ink_angle(out)
    limit = 35.0 * min(1.0, 4.0 * 32 / 160)
    assert limit / 4 - 1 <= angle <= limit + 1


def test_bend_moves_columns_up_and_down():
    img = bar_crop()
    out = RecAugment._bend(img, np.random.default_rng(1))
    rows = [np.nonzero(out[:, x, 0] < 100)[0].mean() for x in range(15, 145, 10)]
    assert max(rows) - min(rows) >= 0.15 * img.shape[0] - 1
    assert out.shape[1] == img.shape[1] and out.shape[0] >= img.shape[0]


def test_light_profile_keeps_the_frame_and_scene_profile_changes_it():
    img = bar_crop()
    light, scene = RecAugment(profile="light"), RecAugment(profile="scene")
    shapes = {light(img, np.random.default_rng(i)).shape for i in range(30)}
    assert shapes == {img.shape}
    assert any(scene(img, np.random.default_rng(i)).shape != img.shape for i in range(30))
    a, b = scene(img, np.random.default_rng(5)), scene(img, np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="augmentation"):
        RecAugment(profile="heavy")
