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
    words = [  # given shuffled; running text in a left column x 10..205 and a right one x 245..440
        _word("right2b", 345, 130, w=95), _word("left1a", 10, 100, w=95), _word("right1a", 245, 102, w=95),
        _word("left2b", 110, 128, w=95), _word("left1b", 110, 98, w=95), _word("left2a", 10, 130, w=95),
        _word("right1b", 345, 100, w=95), _word("right2a", 245, 131, w=95), _word("Title", 80, 20, w=300, h=30),
    ]
    lines = build_lines(words)
    assert [ln.text for ln in lines] == ["Title", "left1a left1b", "left2a left2b",
                                         "right1a right1b", "right2a right2b"]
    assert all(len(ln.polygon) >= 4 for ln in lines)
    assert [ln.block for ln in lines] == [0, 1, 1, 2, 2]


def test_label_value_columns_read_row_by_row():
    words = [  # a receipt: labels at x 10, values far to the right on the same rows, given shuffled
        _word("12/03/2018", 400, 131, w=120), _word("DATE:", 10, 100, w=60), _word("CN", 400, 160),
        _word("CASHIER:", 10, 160, w=90), _word("10:39", 400, 100, w=60), _word("TIME:", 10, 130, w=60),
        _word("TOTAL", 10, 190, w=60), _word("60.30", 400, 191, w=60),
    ]
    lines = build_lines(words)
    assert [ln.text for ln in lines] == ["DATE:", "10:39", "TIME:", "12/03/2018", "CASHIER:", "CN",
                                         "TOTAL", "60.30"]
    # bent rows (no empty band between them) are still read row by row
    bent = [_word(ln.text, ln.polygon[0][0], ln.polygon[0][1] + (12 if ln.polygon[0][0] > 300 else 0),
                  w=ln.polygon[1][0] - ln.polygon[0][0], h=28) for ln in lines]
    assert [ln.text for ln in build_lines(bent)] == [ln.text for ln in lines]


def test_rotated_page_keeps_lines_together():
    words = [_word(f"w{i}{j}", 50 + 50 * j, 40 * i, angle=12) for i in range(3) for j in range(3)]
    lines = build_lines(words[::-1])
    assert [ln.text for ln in lines] == ["w00 w01 w02", "w10 w11 w12", "w20 w21 w22"]


def test_empty_and_regions():
    assert build_lines([]) == []
    polys = [np.array([[100, 50], [150, 50], [150, 70], [100, 70]]),
             np.array([[0, 0], [50, 0], [50, 20], [0, 20]])]
    assert order_regions(polys) == [1, 0]
