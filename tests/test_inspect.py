"""inspect_lmdb: summaries of recognition and detection stores, and the PNG grid."""
import cv2
import numpy as np
import pytest

from ocr.data.inspect_lmdb import inspect, print_summary
from ocr.data.lmdb_store import DET_SCHEMA, LmdbError, LmdbWriter


def jpeg(w=40, h=20):
    ok, buf = cv2.imencode(".jpg", np.full((h, w, 3), 200, np.uint8))
    return buf.tobytes()


def test_rec_summary_and_grid(tmp_path):
    with LmdbWriter(tmp_path / "rec") as w:
        for label in ("abc", "Hello", "é!", "abc"):
            w.add(jpeg(), label)
    png = tmp_path / "grid.png"
    s = inspect(tmp_path / "rec", grid_png=png, n=3, charset="lower36")
    assert s["kind"] == "rec" and s["num_samples"] == 4
    assert s["label_length_hist"] == {2: 1, 3: 2, 5: 1}
    # lower36 lowercases "Hello" (covered); "é!" has two characters outside the set
    assert s["outside_charset"] == {"é": 1, "!": 1} and s["labels_fully_covered"] == 3
    assert s["grid_indices"] == [1, 2, 4]  # linspace(1, 4, 3) = 1, 2.5, 4 -> rounded half-even
    grid = cv2.imread(str(png))
    assert grid is not None and grid.shape[1] == 4 * 256


def test_det_summary_and_grid(tmp_path, capsys):
    ann = {"width": 40, "height": 20,
           "words": [{"polygon": [[1, 1], [10, 1], [10, 8], [1, 8]], "text": "ab", "ignore": False},
                     {"polygon": [[12, 1], [20, 1], [20, 8], [16, 10], [12, 8]], "text": "###", "ignore": True}],
           "lines": [{"polygon": [[1, 1], [20, 1], [20, 10], [1, 10]], "text": "ab ###", "ignore": False,
                      "words": [0, 1]}],
           "text": "ab ###"}
    with LmdbWriter(tmp_path / "det", schema=DET_SCHEMA) as w:
        w.add(jpeg(), ann)
        w.add(b"not an image", {"width": 1, "height": 1, "words": []})
    s = inspect(tmp_path / "det", grid_png=tmp_path / "g.png")
    assert (s["words"], s["words_ignore"], s["lines"], s["lines_ignore"]) == (2, 1, 1, 0)
    assert s["points_per_polygon"] == {4: 2, 5: 1}
    assert s["pages_with_text"] == 1 and s["images_with_words"] == 1
    assert s["label_length_hist"] == {2: 1, 6: 1}  # "ab" (word) and "ab ###" (line)
    # polygons are drawn in green on the first cell
    img = cv2.imread(str(tmp_path / "g.png"))
    assert ((img[..., 1] > 150) & (img[..., 0] < 80) & (img[..., 2] < 80)).any()
    print_summary(s)
    assert "words: 2 (1 ignore)" in capsys.readouterr().out


def test_missing_store(tmp_path):
    with pytest.raises(LmdbError):
        inspect(tmp_path / "nothing")
