"""What ``ocr batch`` reads (folders, globs, manifests, URIs) and how its shards are written and resumed."""
from __future__ import annotations

import pytest

pytest.importorskip("pyarrow", reason="ocr batch needs the batch extra (pip install .[batch])")

from ocr.batch.shards import ShardWriter, done_inputs, read_rows, shard_paths  # noqa: E402
from ocr.batch.sources import list_inputs  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    for name in ("b.png", "a.jpg", "c.pdf", "notes.txt", "d.TIF"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    return tmp_path


def test_folders_globs_manifests_and_uris(folder, monkeypatch):
    names = lambda rows: [r["name"] for r in rows]  # noqa: E731
    assert names(list_inputs([str(folder)])) == [str(folder / n) for n in ("a.jpg", "b.png", "c.pdf", "d.TIF")]
    assert names(list_inputs([str(folder / "*.p*")])) == [str(folder / "b.png"), str(folder / "c.pdf")]
    assert names(list_inputs([f"file://{folder}/a.jpg"])) == [f"file://{folder}/a.jpg"]
    (folder / "list.txt").write_text(f"# scans\nb.png\n\n{folder}/a.jpg\nmissing.png\n")
    monkeypatch.chdir(folder / "sub")  # relative manifest lines are taken from the manifest's folder
    rows = list_inputs(["@" + str(folder / "list.txt")])
    assert names(rows) == [str(folder / "b.png"), str(folder / "a.jpg"), str(folder / "missing.png")]
    assert rows[0]["error"] is None and "no such file" in rows[2]["error"]
    assert "no files match" in list_inputs([str(folder / "*.gif")])[0]["error"]
    assert "cannot read manifest" in list_inputs(["@" + str(folder / "nope.txt")])[0]["error"]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_shards_are_whole_and_tell_what_is_done(tmp_path, fmt):
    page = {"image": "a.tif#page2", "width": 4, "height": 3, "rotation": 90,
            "lines": [{"text": "hi", "score": 0.5, "polygon": [[0.0, 0.0], [1.0, 0.5]]}]}
    writer = ShardWriter(str(tmp_path / "out"), fmt, rows_per_shard=2)
    writer.add([{"image": "x.png", "error": "x.png: not a readable image"}])
    assert shard_paths(str(tmp_path / "out")) == []  # nothing is visible before a shard is complete
    writer.add([page, {**page, "image": "b.png", "rotation": 0}])
    writer.flush()
    assert len(shard_paths(str(tmp_path / "out"))) == 1
    rows = read_rows(str(tmp_path / "out"))
    assert rows[0] == {"image": "x.png", "error": "x.png: not a readable image"} and rows[1] == page
    assert done_inputs(str(tmp_path / "out")) >= {"x.png", "a.tif", "a.tif#page2", "b.png"}
    assert not list((tmp_path / "out").glob("_tmp-*"))
