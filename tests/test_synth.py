"""Synthetic engine: determinism, charset, LMDB round trip, geometry of polygons."""
import cv2
import numpy as np
import pytest

from ocr.data.lmdb_store import DET_SCHEMA, LmdbReader
from ocr.text.charset import ASCII95

synth = pytest.importorskip("ocr.data.synth")


@pytest.fixture(scope="module")
def crop_gen():
    return synth.make_generator("crops", seed=3)


def test_crops_deterministic_per_seed_and_index(crop_gen):
    a = synth.encode_jpeg(crop_gen.make(synth.sample_rng(3, 7))[0])
    b = synth.encode_jpeg(crop_gen.make(synth.sample_rng(3, 7))[0])
    c = synth.encode_jpeg(crop_gen.make(synth.sample_rng(4, 7))[0])
    assert a == b and a != c


def test_labels_in_charset_and_heights(crop_gen):
    for i in range(1, 80):
        img, label = crop_gen.make(synth.sample_rng(3, i))
        assert label and label == " ".join(label.split())
        assert set(label) <= set(ASCII95), label
        assert img.dtype == np.uint8 and img.ndim == 3 and 32 <= img.shape[0] <= 64
        assert img.shape[1] >= 8


def test_crops_lmdb_same_for_any_worker_count(tmp_path):
    r1 = synth.generate("crops", tmp_path / "a", 40, seed=5, workers=1, chunk=8, log=None)
    synth.generate("crops", tmp_path / "b", 40, seed=5, workers=2, chunk=8, log=None)
    assert r1["num"] == 40
    ra, rb = LmdbReader(tmp_path / "a"), LmdbReader(tmp_path / "b")
    assert len(ra) == len(rb) == 40 and ra.schema is None
    assert ra.labels() == rb.labels()
    for i in (1, 17, 40):
        img_a, lab = ra.get(i)
        assert img_a == rb.get(i)[0]
        im = cv2.imdecode(np.frombuffer(img_a, np.uint8), cv2.IMREAD_COLOR)
        assert im is not None and 32 <= im.shape[0] <= 64
        assert set(lab) <= set(ASCII95)


def _ink_outside(mask, polys):
    inside = np.zeros(mask.shape, np.uint8)
    for p in polys:
        cv2.fillPoly(inside, [np.round(np.asarray(p)).astype(np.int32)], 1)
    inside = cv2.dilate(inside, np.ones((3, 3), np.uint8))
    ink = mask > 128
    return (ink & (inside == 0)).sum() / max(int(ink.sum()), 1)


@pytest.mark.parametrize("mode", ["straight", "spaced", "curved"])
def test_word_polygons_contain_ink(mode):
    from ocr.data.synth.crops import random_curve
    from ocr.data.synth.render import render_text
    pool = synth.FontPool()
    rng = np.random.default_rng(0)
    picks = [pool.sample(rng, s) for s in ("serif", "sans", "mono", "handwriting", "bold") for _ in range(2)]
    for info in picks:
        font = pool.load(info.path, 36)
        text = "Jumpy, (Quag) fly!"
        kw = {"spaced": dict(spacing=0.15),
              "curved": dict(curve=random_curve(rng, font.getlength(text), 25), rotate_chars=True)}.get(mode, {})
        r = render_text(text, font, **kw)
        assert len(r.words) == 3
        # the whole line's ink lies in the union of its word polygons ...
        assert _ink_outside(r.mask, [r.word_polygon(i, 8) for i in range(3)]) < 0.005, (info.name, mode)
        if mode != "curved":  # ... and each word rendered alone lies in its own polygon
            for word in text.split():
                single = render_text(word, font, **kw)
                assert _ink_outside(single.mask, [single.word_polygon(0)]) < 0.005, (info.name, word)


def _check_ann(ann, img, curved_ok=True):
    h, w = img.shape[:2]
    assert ann["width"] == w and ann["height"] == h
    for item in ann["words"] + ann["lines"]:
        p = np.asarray(item["polygon"], float)
        assert len(p) >= 4 and len(p) % 2 == 0 and len(p) <= 20
        assert p[:, 0].min() >= -1 and p[:, 0].max() <= w + 1 and p[:, 1].min() >= -1 and p[:, 1].max() <= h + 1
        area = 0.5 * np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1])
        assert area > 0, "polygons are clockwise in image coordinates"
        assert item["text"] and set(item["text"]) <= set(ASCII95)
    for line in ann["lines"]:
        assert " ".join(ann["words"][i]["text"] for i in line["words"]) == line["text"]


def test_scene_polygons_contain_warped_ink():
    from ocr.data.synth.scenes import SceneGenerator, to_image
    gen = SceneGenerator(seed=1)
    checked = 0
    for i in range(30):
        rng = synth.sample_rng(1, i)
        r, size, curved = gen.render_item(rng, 800)
        occupied = np.zeros((720, 960), np.uint8)
        placed = gen.place(rng, r, size, curved, 960, 720, occupied)
        if placed is None:
            continue
        m = placed[0]
        alpha = cv2.warpPerspective(r.mask, m, (960, 720))
        polys = [to_image(r.word_polygon(k, 10 if curved else 2), m) for k in range(len(r.words))]
        assert _ink_outside(alpha, polys) < 0.01
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("kind", ["scenes", "pages"])
def test_det_stores(tmp_path, kind):
    synth.generate(kind, tmp_path / kind, 3, seed=2, workers=1, log=None)
    rd = LmdbReader(tmp_path / kind)
    assert rd.schema == DET_SCHEMA and len(rd) == 3
    gen = synth.make_generator(kind, seed=2)
    for i in (1, 3):
        ann = rd.annotation(i)
        img_bytes, _ = rd.get(i)
        img = cv2.imdecode(np.frombuffer(img_bytes, np.uint8), cv2.IMREAD_COLOR)
        _check_ann(ann, img)
        again = gen.make(synth.sample_rng(2, i))[1]
        assert again == ann  # deterministic per (seed, index)
        if kind == "pages":
            assert ann["text"].split() == [w["text"] for w in ann["words"]] or \
                sorted(ann["text"].split()) == sorted(w["text"] for w in ann["words"])


def test_scene_geometry_bends_and_turns_more_than_plain():
    from ocr.data.synth.crops import CropGenerator
    plain, scene = CropGenerator(seed=0), CropGenerator(seed=0, geometry="scene")
    text = "Vantage"

    def tallness(gen):  # crop height over width: turned or curved words fill taller boxes
        return np.median([(lambda im: im.shape[0] / im.shape[1])(gen.make(synth.sample_rng(1, i), text)[0])
                          for i in range(40)])

    assert tallness(scene) > 1.2 * tallness(plain)
    with pytest.raises(ValueError, match="geometry"):
        CropGenerator(seed=0, geometry="wobbly")


@pytest.mark.parametrize("seed", range(6))
def test_random_curve_keeps_below_max_slope(seed):
    from ocr.data.synth.crops import random_curve
    f = random_curve(np.random.default_rng(seed), width=100.0, amp=80.0, max_slope=0.8)
    x = np.linspace(0, 100, 2001)
    assert np.abs(np.diff(f(x)) / np.diff(x)).max() <= 0.8 + 1e-6
