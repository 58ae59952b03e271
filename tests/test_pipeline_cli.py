"""``ocr read / detect / recognize``: formats, per-file errors, exit status, --viz."""
import json
import re
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from ocr.api import Reader
from ocr.cli import main
from test_pipeline_helpers import FakeDetector, FakeRecognizer, page_with_words

WORDS = [(20, 30, 80, 20), (108, 30, 60, 20), (20, 100, 120, 24)]


@pytest.fixture(autouse=True)
def _no_lmdb_subcommand(monkeypatch):
    """Keep these tests about reading: the ``lmdb`` subcommand's wiring is tested elsewhere."""
    import ocr.data.lmdb_cli

    monkeypatch.setattr(ocr.data.lmdb_cli, "add_lmdb_args", lambda parser: None, raising=False)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # the CLI lifts PIL's limit


@pytest.fixture
def fake_models(monkeypatch):
    models = {"detection": FakeDetector(), "recognition": FakeRecognizer()}
    monkeypatch.setattr(Reader, "_load", lambda self, spec, task: models[task])


def _huge_png(path):
    """A valid tiny PNG whose header then claims 30000 x 30000 pixels (CRC fixed up)."""
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


@pytest.fixture
def batch(tmp_path):
    """Good page, corrupt file, truncated JPEG, empty file, enormous header, blank page, good page."""
    page = page_with_words(WORDS)
    Image.fromarray(page).save(tmp_path / "a_good.png")
    (tmp_path / "b_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    cv2.imwrite(str(tmp_path / "c_trunc.jpg"), page)
    jpg = (tmp_path / "c_trunc.jpg").read_bytes()
    (tmp_path / "c_trunc.jpg").write_bytes(jpg[: len(jpg) // 3])
    (tmp_path / "d_empty.png").write_bytes(b"")
    _huge_png(tmp_path / "e_huge.png")
    Image.fromarray(np.full((60, 80, 3), 255, np.uint8)).save(tmp_path / "f_blank.png")
    Image.fromarray(page).save(tmp_path / "g_good.jpg")
    return tmp_path


BAD = ["b_corrupt.png", "c_trunc.jpg", "d_empty.png", "e_huge.png"]


def test_json_lines_with_errors(batch, fake_models, capsys):
    status = main(["read", str(batch), "--format", "json"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    names = [r["image"].rsplit("/", 1)[1] for r in rows]
    assert names == sorted(p.name for p in batch.iterdir())  # one object per input, in order
    assert status == 1
    for r in rows:
        if r["image"].endswith(tuple(BAD)):
            assert set(r) == {"image", "error"}
        else:
            assert list(r) == ["image", "width", "height", "lines"]
            for line in r["lines"]:
                assert list(line) == ["text", "score", "polygon"]
                assert all(len(pt) == 2 for pt in line["polygon"])
    assert [ln["text"] for ln in rows[0]["lines"]] == ["word word", "word"]
    assert rows[5]["lines"] == []  # blank page: empty, not an error
    err_lines = [e for e in err.splitlines() if e.startswith("ocr read: ") and "inputs failed" not in e]
    assert len(err_lines) == 4 and all(any(b in e for b in BAD) for e in err_lines)
    assert "too large (30000x30000" in next(e for e in err_lines if "e_huge" in e)
    assert "BytesIO" not in err
    assert "4 of 7 inputs failed" in err


def test_text_tsv_and_viz(batch, fake_models, capsys, tmp_path):
    good = str(batch / "a_good.png")
    assert main(["read", good]) == 0
    assert capsys.readouterr().out == "word word\nword\n"
    assert main(["read", good, str(batch / "f_blank.png"), "--format", "tsv", "--viz", str(tmp_path / "viz")]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "image\tline\tscore\ttext\tpolygon" and len(rows) == 3
    assert rows[1].split("\t")[3] == "word word"
    names = sorted(re.sub(r"_[0-9a-f]{6}\.png$", ".png", p.name) for p in (tmp_path / "viz").iterdir())
    assert names == ["00000_a_good.png", "00001_f_blank.png"]  # + a hash of the input's full name
    assert main(["read", good, good]) == 0
    assert capsys.readouterr().out.startswith(f"==> {good} <==\nword word\nword\n\n==> ")


def test_detect_and_recognize_commands(batch, fake_models, capsys, tmp_path):
    assert main(["detect", str(batch / "a_good.png")]) == 0
    row = json.loads(capsys.readouterr().out)
    assert len(row["lines"]) == 3 and "text" not in row["lines"][0]
    crop = tmp_path / "crop.png"
    Image.fromarray(page_with_words([(0, 0, 60, 20)], size=(20, 60))).save(crop)
    lst = tmp_path / "crops.txt"
    lst.write_text(f"{crop}\n{batch / 'd_empty.png'}\n{crop}\n")
    assert main(["recognize", f"@{lst}"]) == 1
    out, err = capsys.readouterr()
    assert out == "word\n\nword\n" and "d_empty.png: empty file" in err
    assert main(["recognize", str(crop), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"image": str(crop), "text": "word", "score": 1.0}


def test_nothing_to_read_and_missing_models(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["read", str(tmp_path / "empty")]) == 2
    assert "no images found" in capsys.readouterr().err
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "x.png")
    assert main(["read", str(tmp_path / "x.png"), "--det", str(tmp_path / "nope.safetensors")]) == 2
    assert "nope.safetensors" in capsys.readouterr().err


def test_recognize_straightens_with_the_detector_unless_told_not_to(monkeypatch, tmp_path, capsys):
    loaded = []
    models = {"detection": FakeDetector(), "recognition": FakeRecognizer()}

    def load(self, spec, task):
        loaded.append(task)
        return models[task]

    monkeypatch.setattr(Reader, "_load", load)
    crop = tmp_path / "crop.png"
    cv2.imwrite(str(crop), page_with_words([(0, 0, 60, 20)], size=(20, 60)))
    assert main(["recognize", str(crop)]) == 0
    assert sorted(loaded) == ["detection", "recognition"]
    loaded.clear()
    assert main(["recognize", str(crop), "--no-straighten"]) == 0
    assert loaded == ["recognition"]
    assert capsys.readouterr().out.split() == ["word", "word"]
