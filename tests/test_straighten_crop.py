"""Given word crops straightened along the detector's polygon when the word is tilted or curved."""
import cv2
import numpy as np

from ocr.data.rec_transforms import turn_in_upright_box
from ocr.pipeline.recognize import read_crops
from ocr.pipeline.straighten_crop import straightened, tilt_degrees
from test_pipeline_helpers import FakeDetector, FakeRecognizer, dark_mask, draw_word


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
