"""Layout: words -> lines -> reading order."""
import numpy as np

from ocr.pipeline.layout import build_lines, order_regions
from ocr.types import Word


def _word(text, x, y, w=40, h=20, angle=0.0):
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], float) @ rot.T
    return Word(text, pts, 0.9)


def test_two_columns_two_lines_each():
    words = [  # given shuffled; left column x 0..200, right column x 400..600
        _word("right2b", 460, 130), _word("left1a", 10, 100), _word("right1a", 400, 102),
        _word("left2b", 60, 128), _word("left1b", 58, 98), _word("left2a", 10, 130),
        _word("right1b", 450, 100), _word("right2a", 400, 131), _word("Title", 80, 20, w=380, h=30),
    ]
    lines = build_lines(words)
    assert [ln.text for ln in lines] == ["Title", "left1a left1b", "left2a left2b",
                                         "right1a right1b", "right2a right2b"]
    assert all(len(ln.polygon) >= 4 for ln in lines)


def test_rotated_page_keeps_lines_together():
    words = [_word(f"w{i}{j}", 50 + 50 * j, 40 * i, angle=12) for i in range(3) for j in range(3)]
    lines = build_lines(words[::-1])
    assert [ln.text for ln in lines] == ["w00 w01 w02", "w10 w11 w12", "w20 w21 w22"]


def test_empty_and_regions():
    assert build_lines([]) == []
    polys = [np.array([[100, 50], [150, 50], [150, 70], [100, 70]]),
             np.array([[0, 0], [50, 0], [50, 20], [0, 20]])]
    assert order_regions(polys) == [1, 0]
