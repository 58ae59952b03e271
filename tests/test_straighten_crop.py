"""Given word crops straightened along the detector's polygon when the word is tilted or curved."""
import cv2
import numpy as np

from ocr.data.rec_transforms import turn_in_upright_box
from ocr.pipeline.recognize import read_crops
from ocr.pipeline.straighten_crop import straightened, tilt_degrees
import torch

from test_pipeline_helpers import MEAN, STD, FakeDetector, FakeRecognizer, dark_mask, draw_word


class TiltedBoxDetector(FakeDetector):
    """The minimum-area (turned) rectangle of the largest dark blob of the input."""

    def postprocess(self, outputs: dict, scales=None, image_sizes=None) -> list[list[dict]]:
        results = []
        for b, t in enumerate(outputs["images"]):
            n, labels, stats, _ = cv2.connectedComponentsWithStats(dark_mask(t))
            if n < 2:
                results.append([])
                continue
            k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            ys, xs = np.nonzero(labels == k)
            box = cv2.boxPoints(cv2.minAreaRect(np.stack([xs, ys], 1).astype(np.float32)))
            sx, sy = scales[b] if scales else (1.0, 1.0)
            results.append([{"polygon": box / np.float32([sx, sy]), "score": 0.9}])
        return results


def word_crop(angle: float) -> np.ndarray:
    """A synthetic word (thick bar on top) turned by ``angle`` degrees inside its upright box."""
    word = np.full((32, 128, 3), 255, np.uint8)
    draw_word(word, 4, 4, 120, 24)
    return turn_in_upright_box(word, angle, border=(255, 255, 255))


def test_tilt_of_turned_rectangles():
    for angle in (0, 8, 25, -25, 60):
        box = cv2.boxPoints(((100, 100), (120, 24), angle))
        assert abs(tilt_degrees(box) - abs(angle)) < 0.5


def test_tilted_word_is_cut_out_level_and_a_level_word_is_left_alone():
    out = straightened(TiltedBoxDetector(), word_crop(25))
    assert out is not None and out.shape[1] > 3 * out.shape[0]
    assert straightened(TiltedBoxDetector(), word_crop(4)) is None  # under MIN_TILT
    assert straightened(TiltedBoxDetector(), np.full((30, 90, 3), 255, np.uint8)) is None  # no word


def test_read_crops_keeps_the_straightened_reading_when_more_confident():
    crop = word_crop(25)
    (_, plain), = read_crops(FakeRecognizer(), [crop])
    (text, conf), = read_crops(FakeRecognizer(), [crop], straighten_with=TiltedBoxDetector())
    assert text == "word" and conf > plain + 0.1


class CountingTiltedDetector(TiltedBoxDetector):
    def __init__(self):
        super().__init__()
        self.batches = []

    def forward(self, images):
        """Batch padding (exact zeros, the mean colour) is shown as white: these crops are white
        and black only, and the fake takes the mean colour for ink."""
        self.batches.append(len(images))
        images = images.clone()
        pad = (images == 0).all(dim=1, keepdim=True).expand_as(images)
        white = torch.tensor((1 - MEAN) / STD).view(1, 3, 1, 1).expand_as(images)
        images[pad] = white[pad]
        return super().forward(images)


def test_detector_runs_once_for_a_batch_and_never_on_long_level_crops():
    from ocr.pipeline.straighten_crop import MAX_ASPECT, needs_detector, straighten_batch

    line = np.full((30, int(30 * MAX_ASPECT) + 40, 3), 255, np.uint8)
    draw_word(line, 4, 3, line.shape[1] - 8, 24)
    assert not needs_detector(line) and needs_detector(word_crop(25))
    crops = [word_crop(25), word_crop(-25), word_crop(25), line, word_crop(3), np.zeros((2, 9, 3), np.uint8)]
    det = CountingTiltedDetector()
    out = straighten_batch(det, crops)
    assert sum(det.batches) == 4 and len(det.batches) < 4  # the word crops only, sharing passes
    one_by_one = [straightened(CountingTiltedDetector(), c) for c in crops]
    assert [o is None for o in out] == [o is None for o in one_by_one] == [False, False, False, True, True, True]
    for a, b in zip(out, one_by_one):
        if a is not None:
            assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 1.0
    det = CountingTiltedDetector()
    read_crops(FakeRecognizer(), [line, line], straighten_with=det)
    assert det.batches == []
