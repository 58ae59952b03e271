"""Detector input size: ``auto`` picks the long side from the text height a cheap first pass finds;
crops of similar size share a detector pass."""
import numpy as np
import pytest

import ocr.pipeline.detect as D
from ocr.api import Reader
from ocr.cli import build_parser
from test_pipeline_helpers import FakeDetector, FakeRecognizer, page_with_words


class Recording(FakeDetector):
    def __init__(self):
        super().__init__()
        self.shapes = []

    def forward(self, images):
        self.shapes.append(tuple(images.shape))
        return super().forward(images)


def _grid_page(word_h: int, size=(1200, 900), rows=8):
    """A page of ``rows`` x 4 synthetic words ``word_h`` pixels high."""
    boxes = [(40 + c * 200, 40 + r * (size[0] - 80) // rows, 150, word_h) for r in range(rows) for c in range(4)]
    return page_with_words(boxes, size=size)


def test_check_size():
    assert D.check_size("auto") == "auto" and D.check_size(" Auto ") == "auto"
    assert D.check_size(800) == 800 and D.check_size("640") == 640
    for bad in ("big", 16, 700.5, None):
        with pytest.raises(ValueError, match="det_size"):
            D.check_size(bad)
    with pytest.raises(ValueError, match="det_size"):
        Reader(det_size="huge")


def test_auto_size_puts_the_median_word_height_at_the_target():
    def dets(heights):
        return [{"polygon": np.float32([[0, 0], [10 * h, 0], [10 * h, h], [0, h]])} for h in heights]

    shape = (1000, 500)
    h = 25.0
    want = 1000 * D.TEXT_PX / h
    assert D.auto_size(shape, dets([h] * 5 + [3 * h, 0.5 * h])) == int(np.clip(round(want / 32) * 32, *D.AUTO_RANGE))
    assert D.auto_size(shape, dets([2.0] * 10)) == D.AUTO_RANGE[1]  # tiny text: clamped
    assert D.auto_size(shape, dets([400.0] * 10)) == D.AUTO_RANGE[0]
    assert D.auto_size(shape, dets([h] * (D.MIN_WORDS - 1))) == D.FALLBACK_SIZE  # too few words to tell


def test_auto_reuses_the_first_pass_when_it_is_at_the_right_scale():
    # words whose height at the first pass's scale is TEXT_PX: no second pass
    scale = D.det_scale(1200, 900, D.PROBE_SIZE)
    page = _grid_page(int(round(D.TEXT_PX / scale)) + 2)  # + the fake detector's 1-2 px of box growth
    det = Recording()
    found = D.detect_images(det, [page], "auto")[0]
    assert len(det.shapes) == 1 and max(det.shapes[0][2:]) == D.PROBE_SIZE
    assert len(found) == 32


def test_auto_detects_again_at_the_size_small_text_needs():
    page = _grid_page(6)
    det = Recording()
    found = D.detect_images(det, [page, page], "auto", batch_size=2)
    sizes = [max(s[2:]) for s in det.shapes]
    assert [s[0] for s in det.shapes] == [2, 2]  # the first pass, then both pages again together
    assert sizes[0] == D.PROBE_SIZE and sizes[1] == min(D.auto_size(page.shape, found[0]), 1800)
    assert sizes[1] > D.PROBE_SIZE
    assert len(found[0]) == 32


def test_reader_and_cli_take_auto():
    page = _grid_page(20)
    reader = Reader(det=FakeDetector(), rec=FakeRecognizer(), device="cpu", det_size="auto")
    assert [w.text for w in reader.read(page).words] == ["word"] * 32
    args = build_parser().parse_args(["read", "x.png", "--det-size", "auto"])
    assert args.det_size == "auto"
    assert build_parser().parse_args(["detect", "x.png", "--det-size", "960"]).det_size == 960
    with pytest.raises(SystemExit):
        build_parser().parse_args(["read", "x.png", "--det-size", "large"])


def test_detect_sized_batches_similar_inputs_only():
    det = Recording()
    small = [page_with_words([(10, 10, 60, 20)], size=(64, 128)) for _ in range(3)]
    big = page_with_words([(10, 10, 200, 40)], size=(400, 600))
    found = D.detect_sized(det, small + [big], [128, 128, 128, 600], batch_size=8)
    assert sorted(s[0] for s in det.shapes) == [1, 3]  # the three small ones together, the big one alone
    alone = [D.detect_images(FakeDetector(), [im], s)[0] for im, s in zip(small + [big], [128] * 3 + [600])]
    for a, b in zip(found, alone):
        assert len(a) == len(b) and all(np.allclose(x["polygon"], y["polygon"]) for x, y in zip(a, b))


def test_eval_read_takes_a_det_size():
    from ocr.eval_read_cli import make_reader

    assert make_reader("ocr", FakeDetector(), FakeRecognizer(), "cpu", det_size="auto").det_size == "auto"
    assert make_reader("ocr", FakeDetector(), FakeRecognizer(), "cpu", det_size="1280").det_size == 1280
    assert make_reader("ocr", FakeDetector(), FakeRecognizer(), "cpu").det_size == D.FALLBACK_SIZE
