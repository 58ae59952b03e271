"""Input expansion (files, directories, @lists, stdin, multi-page TIFF) and image loading."""
import io

import numpy as np
import pytest
from PIL import Image

from ocr.data.images import ImageError
from ocr.pipeline.inputs import expand_inputs, load_image, load_item


def _png(path, value=255, size=(20, 30)):
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)
    return str(path)


def test_directory_sorted_images_only(tmp_path):
    for name in ("b.png", "a.PNG", "c.jpg"):
        _png(tmp_path / name)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    names = [i.name for i in expand_inputs([str(tmp_path)])]
    assert [n.rsplit("/", 1)[1] for n in names] == ["a.PNG", "b.png", "c.jpg"]


def test_list_file_relative_to_list_and_comments(tmp_path, monkeypatch):
    (tmp_path / "imgs").mkdir()
    _png(tmp_path / "imgs" / "x.png")
    lst = tmp_path / "list.txt"
    lst.write_text("# comment\n\nimgs/x.png\nmissing.png\n")
    monkeypatch.chdir("/")
    items = expand_inputs([f"@{lst}"])
    assert items[0].path == str(tmp_path / "imgs" / "x.png") and items[0].error is None
    assert items[1].error and "missing.png" in items[1].error
    assert expand_inputs([f"@{tmp_path}/nope.txt"])[0].error.startswith("@")


def test_stdin_list(tmp_path):
    a = _png(tmp_path / "a.png")
    items = expand_inputs(["-"], stdin=io.StringIO(f"{a}\n\n{a}\n"))
    assert [i.name for i in items] == [a, a]


def test_multipage_tiff(tmp_path):
    path = tmp_path / "doc.tif"
    pages = [Image.fromarray(np.full((10, 12, 3), v, np.uint8)) for v in (0, 100, 200)]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    items = expand_inputs([str(path)])
    assert [i.name for i in items] == [f"{path}#page{k}" for k in (1, 2, 3)]
    assert load_item(items[1])[0, 0, 0] == 100
    img, name = load_image(f"{path}#page3")
    assert img[0, 0, 0] == 200 and name.endswith("#page3")
    with pytest.raises(ImageError, match="no page 9"):
        load_image(f"{path}#page9")


def test_load_image_kinds(tmp_path):
    path = _png(tmp_path / "a.png", value=7)
    arrays = [load_image(path)[0], load_image(open(path, "rb").read())[0],
              load_image(Image.open(path))[0], load_image(np.full((30, 20), 7, np.uint8))[0],
              load_image(np.dstack([np.full((30, 20, 3), 7, np.uint8), np.full((30, 20), 255, np.uint8)]))[0]]
    assert all(a.shape == (20, 30, 3) or a.shape == (30, 20, 3) for a in arrays)
    assert all(a.dtype == np.uint8 and a[0, 0, 0] == 7 for a in arrays)
    with pytest.raises(ImageError, match="cannot read a int"):
        load_image(5)
    with pytest.raises(ImageError, match="is a directory"):
        load_image(tmp_path)
