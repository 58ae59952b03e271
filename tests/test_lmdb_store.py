"""LmdbWriter/LmdbReader: atomic writes, errors on incomplete stores, public STR LMDBs."""
import lmdb
import pytest

from ocr.data.lmdb_store import DET_SCHEMA, LmdbError, LmdbReader, LmdbWriter


def test_roundtrip(tmp_path):
    with LmdbWriter(tmp_path / "s", schema=DET_SCHEMA, commit_every=2) as w:
        for i in range(5):
            w.add(b"img%d" % i, {"width": i, "height": 1})
    r = LmdbReader(tmp_path / "s")
    assert len(r) == 5 and r.schema == DET_SCHEMA
    assert r.get(3) == (b"img2", '{"width": 2, "height": 1}')
    assert r.annotation(5)["width"] == 4
    with pytest.raises(LmdbError):
        r.get(6)


def test_exception_leaves_no_store(tmp_path):
    with pytest.raises(RuntimeError):
        with LmdbWriter(tmp_path / "s") as w:
            w.add(b"x", "a")
            raise RuntimeError("boom")
    assert not (tmp_path / "s").exists()
    assert not (tmp_path / "s.partial").exists()


def test_exception_keeps_previous_store(tmp_path):
    with LmdbWriter(tmp_path / "s") as w:
        w.add(b"x", "old")
    with pytest.raises(RuntimeError):
        with LmdbWriter(tmp_path / "s", overwrite=True) as w:
            w.add(b"y", "new")
            w.add(b"z", "new2")
            raise RuntimeError("boom")
    r = LmdbReader(tmp_path / "s")
    assert len(r) == 1 and r.labels() == ["old"]


def test_overwrite_replaces_and_refuses_without_flag(tmp_path):
    with LmdbWriter(tmp_path / "s") as w:
        w.add(b"x", "old")
    with pytest.raises(FileExistsError):
        LmdbWriter(tmp_path / "s")
    with LmdbWriter(tmp_path / "s", overwrite=True) as w:
        w.add(b"y", "new")
    assert LmdbReader(tmp_path / "s").labels() == ["new"]


def test_reader_errors(tmp_path):
    with pytest.raises(LmdbError, match="no such LMDB"):
        LmdbReader(tmp_path / "missing")
    env = lmdb.open(str(tmp_path / "incomplete"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"image-000000001", b"x")
    env.close()
    with pytest.raises(LmdbError, match="num-samples"):
        LmdbReader(tmp_path / "incomplete")


def test_public_str_lmdb_loads_unchanged(tmp_path):
    """A store written the way public STR benchmarks are (no schema key)."""
    env = lmdb.open(str(tmp_path / "pub"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"image-000000001", b"\xff\xd8jpeg")
        txn.put(b"label-000000001", "Straße".encode())
        txn.put(b"image-000000002", b"\x89PNG")
        txn.put(b"label-000000002", b"OK")
        txn.put(b"num-samples", b"2")
    env.close()
    r = LmdbReader(tmp_path / "pub")
    assert len(r) == 2 and r.schema is None
    assert r.get(1) == (b"\xff\xd8jpeg", "Straße") and r.labels() == ["Straße", "OK"]
