"""LMDB stores in the standard scene-text layout.

Keys: ``num-samples`` (ASCII int), ``image-%09d`` (encoded image bytes), ``label-%09d`` (UTF-8),
indices from 1. Detection/page stores put a JSON annotation in ``label-%09d`` and mark themselves
with ``schema`` = ``ocr-det-v1`` (see datasets/README.md for the JSON schema).

Writes are atomic: a writer fills ``<path>.partial`` and renames it to ``<path>`` only after
``num-samples`` is committed, so an interrupted write never leaves a store that reads as complete.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import lmdb

DET_SCHEMA = "ocr-det-v1"


class LmdbError(RuntimeError):
    """A store that is missing, incomplete or corrupt."""


def image_key(i: int) -> bytes:
    return b"image-%09d" % i


def label_key(i: int) -> bytes:
    return b"label-%09d" % i


class LmdbWriter:
    """Append samples, then ``close()`` to publish. Use as a context manager; an exception inside
    the ``with`` block discards the partial store and leaves any existing one untouched."""

    def __init__(self, path: str | os.PathLike, schema: str | None = None, overwrite: bool = False,
                 map_size: int = 1 << 40, commit_every: int = 1000):
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path}: already exists (pass overwrite=True to replace it)")
        self.tmp = self.path.with_name(self.path.name + ".partial")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.env = lmdb.open(str(self.tmp), map_size=map_size, subdir=True, lock=False)
        self.schema = schema
        self.commit_every = commit_every
        self.count = 0
        self._txn = self.env.begin(write=True)

    def add(self, image_bytes: bytes, label: str | dict) -> int:
        """Add one sample; ``label`` is text, or a dict annotation (stored as JSON). Returns its index."""
        if not image_bytes:
            raise ValueError("empty image bytes")
        self.count += 1
        text = label if isinstance(label, str) else json.dumps(label, ensure_ascii=False)
        self._txn.put(image_key(self.count), image_bytes)
        self._txn.put(label_key(self.count), text.encode("utf-8"))
        if self.count % self.commit_every == 0:
            self._txn.commit()
            self._txn = self.env.begin(write=True)
        return self.count

    def close(self) -> Path:
        """Publish the store: write ``num-samples`` last, then move it into place."""
        if self.schema:
            self._txn.put(b"schema", self.schema.encode())
        self._txn.put(b"num-samples", str(self.count).encode())
        self._txn.commit()
        self.env.sync()
        self.env.close()
        if self.path.exists():
            old = self.path.with_name(self.path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            self.path.rename(old)
            self.tmp.rename(self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            self.tmp.rename(self.path)
        return self.path

    def abort(self) -> None:
        self._txn.abort()
        self.env.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "LmdbWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class LmdbReader:
    """Read-only access opened lazily (once per process, so it is safe in DataLoader workers)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            partial = self.path.with_name(self.path.name + ".partial")
            hint = " (an unfinished write exists beside it)" if partial.exists() else ""
            raise LmdbError(f"{self.path}: no such LMDB{hint}")
        self._env = None
        self._pid = None
        with self._open().begin() as txn:
            raw = txn.get(b"num-samples")
            schema = txn.get(b"schema")
        if raw is None:
            raise LmdbError(f"{self.path}: not a complete store (no num-samples key)")
        try:
            self.num_samples = int(raw)
        except ValueError:
            raise LmdbError(f"{self.path}: num-samples is not an integer: {raw[:20]!r}") from None
        self.schema = schema.decode() if schema else None
        self._close()

    def _open(self):
        if self._env is None or self._pid != os.getpid():
            try:
                self._env = lmdb.open(str(self.path), readonly=True, lock=False, readahead=False,
                                      meminit=False, max_readers=64)
            except lmdb.Error as e:
                raise LmdbError(f"{self.path}: cannot open LMDB ({e})") from None
            self._pid = os.getpid()
        return self._env

    def _close(self) -> None:
        if self._env is not None:
            self._env.close()
        self._env = None

    def __len__(self) -> int:
        return self.num_samples

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_env"] = None
        return state

    def get(self, index: int) -> tuple[bytes, str]:
        """(image bytes, label text) of sample ``index`` (1-based). Raises LmdbError if missing."""
        with self._open().begin() as txn:
            img = txn.get(image_key(index))
            lab = txn.get(label_key(index))
        if img is None or lab is None:
            raise LmdbError(f"{self.path}: sample {index} is missing")
        try:
            return img, lab.decode("utf-8")
        except UnicodeDecodeError:
            raise LmdbError(f"{self.path}: label of sample {index} is not UTF-8") from None

    def labels(self) -> list[str]:
        """All labels in index order (cheap: no image is read). The environment is closed
        afterwards, so that DataLoader workers forked later can open their own."""
        out = []
        was_open = self._env is not None
        with self._open().begin() as txn:
            for i in range(1, self.num_samples + 1):
                raw = txn.get(label_key(i))
                out.append(raw.decode("utf-8", errors="replace") if raw is not None else None)
        if not was_open:
            self._close()
        return out

    def annotation(self, index: int) -> dict:
        """JSON annotation of a detection/page store."""
        _, text = self.get(index)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise LmdbError(f"{self.path}: annotation of sample {index} is not valid JSON") from None


SPLITS = {"train", "val", "test", "all"}


def dataset_name(path) -> str:
    """A table/folder name for a store: its folder name, with the parent's when that is a split
    (``data/real/ic15_det/val`` -> ``ic15_det_val``)."""
    p = Path(path)
    return f"{p.parent.name}_{p.name}" if p.name in SPLITS and p.parent.name else p.name
