"""Photo backgrounds: text removal, the patch pool, photo-background crops, camera degradations."""
import json

import cv2
import numpy as np
import pytest

from ocr.data.lmdb_store import DET_SCHEMA, LmdbWriter
from ocr.data.synth import effects, make_generator, sample_rng
from ocr.data.synth.crops import encode_jpeg
from ocr.data.synth.photo_backgrounds import PhotoPool, build_pool, remove_text, text_masks


def fake_scene(seed: int, text: str = "SALE", flat: bool = False):
    """A BGR 'photo' (smooth gradient and blobs) with ``text`` drawn big, and its word polygon."""
    rng = np.random.default_rng(seed)
    h, w = 240, 480
    if flat:
        img = np.full((h, w, 3), 128, np.uint8)
    else:
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.dstack([(xx * 0.3 + c * 40 + yy * 0.2) % 255 for c in range(3)]).astype(np.uint8)
        img = cv2.GaussianBlur(img, (0, 0), 3)
        for _ in range(6):
            cv2.circle(img, tuple(int(v) for v in rng.integers(0, [w, h])), int(rng.integers(10, 40)),
                       tuple(int(v) for v in rng.integers(0, 255, 3)), -1, cv2.LINE_AA)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 2.0, 5)
    x, y = 60, 60 + th
    color = (20, 20, 20) if flat else (255, 255, 255)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 2.0, color, 5, cv2.LINE_AA)
    poly = [[x - 2, y - th - 2], [x + tw + 2, y - th - 2], [x + tw + 2, y + base], [x - 2, y + base]]
    return img, poly


def edge_count(img, region):
    return int((cv2.Canny(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 50, 150)[region > 0] > 0).sum())


def test_inpainting_removes_the_text_and_keeps_the_rest():
    img, poly = fake_scene(0)
    clean, mask, big = remove_text(img, [poly])
    inside = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.int32(poly)], 255)
    assert (mask[inside > 0] > 0).all() and big.any()  # the whole word is masked; it counts as big
    assert edge_count(clean, inside) < 0.15 * edge_count(img, inside)  # the strokes' edges are gone
    assert np.array_equal(clean[mask == 0], img[mask == 0])


def test_masks_cover_dont_care_and_small_words():
    small = [[300, 200], [330, 200], [330, 206], [300, 206]]  # 6 px high: below BIG_TEXT
    allm, big = text_masks((240, 480, 3), [small])
    assert allm[203, 315] and not big.any()


def _det_store(path, scenes):
    with LmdbWriter(path, schema=DET_SCHEMA) as w:
        for img, poly in scenes:
            ann = {"width": img.shape[1], "height": img.shape[0],
                   "words": [{"polygon": poly, "text": "###", "ignore": True}]}
            w.add(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes(), json.dumps(ann))


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    d = tmp_path_factory.mktemp("photo")
    _det_store(d / "scenes", [fake_scene(i) for i in range(3)])
    _det_store(d / "flat", [fake_scene(9, flat=True)])
    n = build_pool([d / "scenes"], d / "pool", per_image=6, seed=1)
    build_pool([d / "scenes"], d / "pool2", per_image=6, seed=1, workers=2)
    build_pool([d / "flat"], d / "flat_pool", per_image=6, seed=1)
    return d, n


def test_pool_is_deterministic_and_avoids_big_text(pools):
    d, n = pools
    files = sorted(p.name for p in (d / "pool").iterdir())
    assert n > 6 and len(files) == n + 1 and "manifest.tsv" in files
    assert all((d / "pool" / f).read_bytes() == (d / "pool2" / f).read_bytes() for f in files)
    _, poly = fake_scene(0)
    (x0, y0), (x1, y1) = poly[0], poly[2]
    for line in (d / "pool" / "manifest.tsv").read_text().splitlines()[1:]:
        x, y, w, h = map(int, line.split("\t")[3].split(","))
        assert x + w <= x0 or x >= x1 or y + h <= y0 or y >= y1, line
    with pytest.raises(FileExistsError):
        build_pool([d / "scenes"], d / "pool")


def test_pool_crops_have_the_asked_shape(pools):
    pool = PhotoPool(pools[0] / "pool")
    a, b = pool.crop(sample_rng(0, 1), 40, 200), pool.crop(sample_rng(0, 1), 40, 200)
    assert a.shape == (40, 200, 3) and a.dtype == np.float32 and np.array_equal(a, b)
    with pytest.raises(FileNotFoundError):
        PhotoPool(pools[0] / "missing")


def test_photo_crops_deterministic_per_seed_and_index(pools):
    gen = make_generator("crops", 5, photo_bg=str(pools[0] / "pool"), photo_p=1.0)
    a, la = gen.make(sample_rng(5, 3))
    b, lb = gen.make(sample_rng(5, 3))
    c, _ = gen.make(sample_rng(5, 4))
    assert la == lb and la and encode_jpeg(a) == encode_jpeg(b) and encode_jpeg(a) != encode_jpeg(c)
    assert a.dtype == np.uint8 and a.ndim == 3 and 32 <= a.shape[0] <= 64


def test_photo_crops_draw_the_label_on_the_patch(pools, monkeypatch):
    """On flat grey patches, without camera degradations, the text is the only thing that differs
    from the background: a few percent to most of the pixels, in one contrasting colour."""
    monkeypatch.setattr(effects, "camera", lambda img, rng: img)
    gen = make_generator("crops", 2, photo_bg=str(pools[0] / "flat_pool"), photo_p=1.0)
    for i in range(1, 9):
        img, label = gen.make(sample_rng(2, i))
        grey = img.astype(np.float32).mean(2)
        ink = np.abs(grey - np.median(grey)) > 25
        assert label.strip() and 0.02 < ink.mean() < 0.8, (label, ink.mean())


def test_plain_crops_ignore_the_pool_setting():
    a = make_generator("crops", 3).make(sample_rng(3, 2))
    b = make_generator("crops", 3, photo_bg=None, photo_p=1.0).make(sample_rng(3, 2))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]


@pytest.mark.parametrize("fn", [effects.defocus, effects.shot_noise, effects.color_cast, effects.glare,
                                effects.camera])
def test_camera_degradations_keep_shape_and_range(fn):
    img = np.random.default_rng(0).uniform(0, 255, (37, 91, 3)).astype(np.float32)
    for i in range(6):
        out = fn(img, sample_rng(1, i))
        assert out.shape == img.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 255


def test_defocus_and_shot_noise_change_the_image_as_named():
    img = np.zeros((40, 40, 3), np.float32)
    img[:, 20:] = 200
    blurred = effects.defocus(img, sample_rng(0, 0))
    assert 0 < blurred[20, 19, 0] < 200 and blurred[20, 0, 0] == 0  # the edge spreads, flat parts stay
    noisy = effects.shot_noise(img, sample_rng(0, 1))
    assert noisy[:, 25:].std() > noisy[:, :15].std()  # shot noise grows with the signal


def test_photo_store_renders_on_the_fly_from_the_pool_beside_it(pools):
    from ocr.data.synth.stream import SynthCropStream
    from ocr.engine.budget import on_the_fly
    from ocr.engine.config import DataSource
    from ocr.text.charset import load_charset

    src = on_the_fly(DataSource("/stores/synth/crops_photo_s2"))
    assert (src.synth, src.geometry, src.seed, src.photo_bg) == ("crops", "plain", 2, "/stores/synth/photo_bg")
    assert on_the_fly(DataSource("data/synth/crops_scene_photo_s3")).geometry == "scene"
    stream = SynthCropStream(load_charset("ascii95"), seed=2, photo_bg=str(pools[0] / "pool"))
    img, text = stream.sample(0)
    ref = make_generator("crops", 2, photo_bg=str(pools[0] / "pool")).make(sample_rng(2, 1))
    assert "photo backgrounds" in stream.report() and text == ref[1] and np.array_equal(img, ref[0])
