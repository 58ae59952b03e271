"""Page orientation: the batched check gives the answers of the one-page check, with fewer reads."""
import cv2
import numpy as np

from ocr.api import Reader
from ocr.models.decoding import DecodeOptions
from ocr.pipeline.detect import detect_images
from ocr.pipeline.orientation import MARGIN, TALL_SHARE, _elongated, _mean_conf, page_rotation, page_rotations
from ocr.pipeline.rectify import crop_polygon
from test_pipeline_helpers import FakeDetector, FakeRecognizer, page_with_words

WORDS = [(20, 30, 80, 20), (108, 30, 60, 20), (20, 100, 120, 24), (160, 100, 90, 22)]


SIZE = (320, 416)  # multiples of 32: the fake detector sees the page at its own size


def _page(words=WORDS):
    return page_with_words(words, size=SIZE)


def _boxes(img):
    return [d["polygon"] for d in detect_images(FakeDetector(), [img], max(img.shape[:2]))[0]]


class CountingRead:
    """A ``read`` function over FakeRecognizer that records how many crops each call reads."""

    def __init__(self):
        self.calls = []

    def __call__(self, crops):
        from ocr.pipeline.recognize import recognize_crops

        self.calls.append(len(crops))
        return recognize_crops(FakeRecognizer(), crops)


def _old_page_rotation(img, polygons, read, words=5):
    """The one-page check as it was before batching (reference)."""
    regions = _elongated(polygons)
    if not regions:
        return 0
    total = sum(a for a, _, _ in regions)
    tall = sum(a for a, up, _ in regions if up)
    if tall > TALL_SHARE * total:
        crops = [crop_polygon(img, polygons[i]) for _, up, i in regions if up][:words]
        ccw = _mean_conf(read([cv2.rotate(c, cv2.ROTATE_90_COUNTERCLOCKWISE) for c in crops]))
        cw = _mean_conf(read([cv2.rotate(c, cv2.ROTATE_90_CLOCKWISE) for c in crops]))
        return 90 if ccw >= cw else 270
    crops = [crop_polygon(img, polygons[i]) for _, up, i in regions if not up][:words]
    upright = _mean_conf(read(crops))
    flipped = _mean_conf(read([cv2.rotate(c, cv2.ROTATE_180) for c in crops]))
    return 180 if flipped > upright + MARGIN else 0


def test_upright_page_reads_only_its_upright_crops():
    img = _page()
    read = CountingRead()
    assert page_rotation(img, _boxes(img), read) == 0
    assert read.calls == [len(WORDS)]  # confident upright reading: the upside-down one is skipped


def test_pages_of_a_chunk_share_two_reads():
    upright = _page()
    pages = [upright, cv2.rotate(upright, cv2.ROTATE_180), cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE),
             upright, np.full((50, 60, 3), 255, np.uint8)]
    read = CountingRead()
    assert page_rotations(pages, [_boxes(p) for p in pages], read) == [0, 180, 90, 0, 0]
    # first call: upright crops of the three lying pages + both quarter turns of the standing one;
    # second call: upside-down crops of the one page whose upright reading was not confident
    assert read.calls == [3 * len(WORDS) + 2 * len(WORDS), len(WORDS)]
    assert [_old_page_rotation(p, _boxes(p), CountingRead()) for p in pages] == [0, 180, 90, 0, 0]


def test_same_answers_as_the_one_page_check_for_any_confidences():
    """Confidences drawn at random (also right at 1 - MARGIN): batched == one page at a time."""
    rng = np.random.default_rng(0)
    pages = []
    for _ in range(40):
        words = [(int(rng.integers(5, 200)), int(rng.integers(5, 250)), int(rng.integers(30, 150)), 20)
                 for _ in range(int(rng.integers(1, 7)))]
        img = _page(words)
        turn = rng.choice([None, cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE])
        pages.append(img if turn is None else cv2.rotate(img, int(turn)))
    levels = [0.0, 0.3, 0.75, 0.8, 1 - MARGIN, 0.95, 1.0]

    def conf_of(crop):  # a fixed confidence per crop content, so both checks see the same readings
        return levels[int(crop.astype(np.int64).sum() * 2654435761 % 1000003) % len(levels)]

    def read(crops):
        return [("w" if conf_of(c) else "", conf_of(c)) for c in crops]

    polys = [_boxes(p) for p in pages]
    expected = [_old_page_rotation(p, b, read) for p, b in zip(pages, polys)]
    assert page_rotations(pages, polys, read) == expected
    assert len(set(expected)) > 1


def _counting_reader(seen):
    class Counting(FakeRecognizer):
        decode_options = frozenset({"lexicon"})  # its reading ignores it

        def forward(self, images, widths=None, targets=None):
            seen.append(len(images))
            return super().forward(images, widths, targets)

    return Reader(det=FakeDetector(), rec=Counting(), device="cpu", det_size=400)


def test_reader_reads_each_crop_once_orientation_included():
    """A chunk of upright pages: the orientation check reads each page's largest crops as
    recognition would, and recognition reads only the others."""
    seen = []
    reader = _counting_reader(seen)
    img = _page()
    pages = reader.read_batch([img, img, img])
    assert all(p.rotation == 0 and p.text == "word word\nword word" for p in pages)
    assert sum(seen) == 3 * len(WORDS)  # all four words are among the five the check reads
    seven = WORDS + [(20, 170, 70, 20), (120, 170, 50, 20), (20, 240, 140, 26)]
    seen.clear()
    pages = reader.read_batch([_page(seven)] * 2)
    assert all(len(p.text.split()) == 7 for p in pages)
    assert sum(seen) == 2 * 7  # the check: five a page; recognition: the other two


def test_reader_reads_again_what_it_decodes_otherwise_or_on_a_turned_page():
    """Readings are shared only when recognition would read the same crop the same way: not with
    a lexicon, and not on a page turned upside down (cut out again after turning)."""
    seen = []
    img = _page()
    reader = _counting_reader(seen)
    reader.options = DecodeOptions(lexicon=["word"])
    reader.read_batch([img])
    assert sum(seen) == 2 * len(WORDS)
    seen.clear()
    page = _counting_reader(seen).read_batch([cv2.rotate(img, cv2.ROTATE_180)])[0]
    assert page.rotation == 180 and page.text == "word word\nword word"
    assert sum(seen) == 3 * len(WORDS)  # upright and flipped for the check, then the turned page
