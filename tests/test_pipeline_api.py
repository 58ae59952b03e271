"""Reader: inputs of every kind, blank pages, errors, turned pages, real tiny models."""
import cv2
import numpy as np
import pytest
from PIL import Image

from ocr.api import Reader
from ocr.data.images import ImageError
from ocr.pipeline.inputs import encode_png
from test_pipeline_helpers import FakeDetector, FakeRecognizer, page_with_words, tiny_crnn

WORDS = [(20, 30, 80, 20), (108, 30, 60, 20), (20, 100, 120, 24)]


def _reader(**kw):
    return Reader(det=FakeDetector(), rec=FakeRecognizer(), device="cpu", det_size=400, **kw)


def test_accepts_path_array_pil_bytes(tmp_path):
    img = page_with_words(WORDS)
    path = tmp_path / "page.png"
    Image.fromarray(img).save(path)
    reader = _reader()
    pages = [reader.read(str(path)), reader.read(path), reader.read(img), reader.read(Image.fromarray(img)),
             reader.read(encode_png(img)), reader.read(img[..., 0])]
    for page in pages:
        assert page.text == "word word\nword" and (page.width, page.height) == (400, 300)
    assert pages[0].image == str(path) and pages[2].image == "<array>"
    first = pages[2].lines[0].words[0].polygon
    assert np.allclose(first, [[20, 30], [100, 30], [100, 50], [20, 50]], atol=2)


def test_blank_image_is_an_empty_result():
    page = _reader().read(np.full((200, 300, 3), 255, np.uint8))
    assert page.lines == [] and page.text == "" and page.error is None
    assert page.to_dict() == {"image": "<array>", "width": 300, "height": 200, "lines": []}


def test_read_batch_errors_returned_or_raised():
    good = page_with_words(WORDS)
    reader = _reader()
    pages = reader.read_batch([good, b"not an image", good], errors="return")
    assert [p.error is None for p in pages] == [True, False, True]
    assert "<bytes>" in pages[1].error and pages[2].text == pages[0].text
    with pytest.raises(ImageError):
        reader.read_batch([good, b""], errors="raise")


@pytest.mark.parametrize("turn,expected", [(cv2.ROTATE_180, 180), (cv2.ROTATE_90_CLOCKWISE, 90),
                                           (cv2.ROTATE_90_COUNTERCLOCKWISE, 270)])
def test_turned_page_is_read_upright(turn, expected):
    img = cv2.rotate(page_with_words(WORDS), turn)
    page = _reader().read(img)
    assert page.rotation == expected
    assert page.text == "word word\nword" and min(w.score for w in page.words) > 0.9
    h, w = img.shape[:2]
    for word in page.words:  # polygons in the image as given, covering dark pixels
        pts = np.asarray(word.polygon)
        assert pts.min() >= -1 and pts[:, 0].max() <= w and pts[:, 1].max() <= h
        x0, y0 = pts.min(axis=0).astype(int) + 2
        x1, y1 = pts.max(axis=0).astype(int) - 2
        assert img[y0:y1, x0:x1].min() == 0
    assert _reader(orientation=False).read(img).rotation == 0


def test_detect_and_recognize():
    reader = _reader()
    page = reader.detect(page_with_words(WORDS))
    assert len(page.lines) == 3 and all(line.text == "" for line in page.lines)
    assert "text" not in page.to_dict(text=False)["lines"][0]
    crop = page_with_words([(0, 0, 60, 20)], size=(20, 60))
    assert reader.recognize(crop) == ("word", 1.0)
    assert [t for t, _ in reader.recognize([crop, np.full((20, 60), 255, np.uint8)])] == ["word", ""]
    tall = cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE)
    assert reader.recognize(tall) == ("word", 1.0)  # tall crops are read turned


def test_real_tiny_models_run_end_to_end():
    rec = tiny_crnn()
    if rec is None:
        pytest.skip("recognition models not importable yet")
    reader = Reader(det=FakeDetector(), rec=rec, device="cpu", det_size=320, batch_size=2)
    pages = reader.read_batch([page_with_words(WORDS), np.full((50, 50, 3), 255, np.uint8)])
    assert len(pages) == 2 and pages[1].lines == []
    assert all(isinstance(w.text, str) and 0 <= w.score <= 1 for w in pages[0].words)
    from ocr.registry import create_model

    try:
        det = create_model("fcenet_mobilenetv3")
    except Exception:
        pytest.skip("detection models not importable yet")
    page = Reader(det=det.eval(), rec=rec, device="cpu", det_size=256).read(page_with_words(WORDS))
    assert page.width == 400


def test_crop_margin_lengthens_word_crops(monkeypatch):
    import ocr.api

    seen = {}

    def capture(model, crops, *args, **kw):
        seen["sizes"] = sorted(c.shape[:2] for c in crops)
        return [("word", 1.0)] * len(crops)

    monkeypatch.setattr(ocr.api, "read_crops", capture)
    img = page_with_words(WORDS)
    _reader(crop_margin=0.0, orientation=False).read(img)  # (the check would read them first)
    tight = np.array(seen["sizes"], float)
    _reader(crop_margin=0.25, orientation=False).read(img)
    grown = np.array(seen["sizes"], float)
    assert len(tight) == len(WORDS)
    # same height; longer by a quarter of the height at each end
    assert np.array_equal(grown[:, 0], tight[:, 0])
    assert np.allclose(grown[:, 1], tight[:, 1] + 0.5 * tight[:, 0], atol=2)


def test_words_read_below_min_score_are_left_out(monkeypatch):
    import ocr.api

    scores = [0.9, 0.3, 0.5]  # one per word of WORDS
    monkeypatch.setattr(ocr.api, "read_crops", lambda model, crops, *a, **kw: [(f"w{s}", s) for s in scores][:len(crops)])
    img = page_with_words(WORDS)
    # (without the orientation check, which would read the crops before read_crops)
    assert sorted(w.score for w in _reader(orientation=False).read(img).words) == [0.5, 0.9]  # the default, 0.5
    assert sorted(w.score for w in _reader(min_score=0.0, orientation=False).read(img).words) == [0.3, 0.5, 0.9]
    assert [w.score for w in _reader(min_score=0.8, orientation=False).read(img).words] == [0.9]
    crop = page_with_words([(0, 0, 60, 20)], size=(20, 60))
    assert _reader(min_score=0.95).recognize(crop) == ("w0.9", 0.9)  # recognize returns every reading


def test_bad_arguments():
    with pytest.raises(ValueError, match="crop_margin"):
        Reader(crop_margin=-0.1)
    with pytest.raises(ValueError, match="min_score"):
        Reader(min_score=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        Reader(batch_size=0)
    with pytest.raises(ValueError, match="unknown device"):
        Reader(device="tpu")
    with pytest.raises(ValueError, match="errors must be"):
        _reader().read_batch([], errors="ignore")
