"""Low-confidence crops are read again resized in width; the most confident reading is kept."""
import numpy as np

from ocr.pipeline import recognize


def _fake_reader(calls):
    """A recognizer stand-in: the text names the crop's width; only width 125 reads confidently."""
    def read(model, crops, batch_size=32, device="cpu", options=None):
        calls.append([c.shape[1] for c in crops])
        return [(f"w{c.shape[1]}", 0.99 if c.shape[1] == 125 else 0.5) for c in crops]
    return read


def test_reread_keeps_the_most_confident_width(monkeypatch):
    calls = []
    monkeypatch.setattr(recognize, "recognize_crops", _fake_reader(calls))
    crop = np.zeros((20, 100, 3), np.uint8)
    out = recognize.read_crops(None, [crop], turnable=[False], reread=(0.8, 1.25))
    assert out == [("w125", 0.99)]
    assert calls == [[100], [80, 125]]


def test_confident_crops_and_default_are_not_reread(monkeypatch):
    calls = []
    monkeypatch.setattr(recognize, "recognize_crops", _fake_reader(calls))
    sure = np.zeros((20, 125, 3), np.uint8)
    assert recognize.read_crops(None, [sure], turnable=[False], reread=(0.8, 1.5)) == [("w125", 0.99)]
    unsure = np.zeros((20, 100, 3), np.uint8)
    assert recognize.read_crops(None, [unsure], turnable=[False]) == [("w100", 0.5)]
    assert calls == [[125], [100]]
