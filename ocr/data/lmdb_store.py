"""LMDB stores in the standard scene-text layout.

Keys: ``num-samples`` (ASCII int), ``image-%09d`` (encoded image bytes), ``label-%09d`` (UTF-8),
indices from 1. Detection/page stores put a JSON annotation in ``label-%09d`` and mark themselves
with ``schema`` = ``ocr-det-v1`` (see datasets/README.md for the JSON schema).

Writes are atomic: a writer fills its own ``<path>.partial-*`` folder and renames it to ``<path>``
only after ``num-samples`` is committed, so an interrupted write never leaves a store that reads as
complete, and two writers to one destination each publish a whole store (the last one stays).

Reading checks a store before any page is touched: a ``data.mdb`` shorter than its own header
says (a cut copy), a store without image keys, or a sample count beyond the entries is a clean
``LmdbError`` naming the store, never a bus error. One environment is shared per store and
process, so the same store may serve as training and validation data.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import lmdb

from ocr.data.image_header import declared_size

DET_SCHEMA = "ocr-det-v1"


class LmdbError(RuntimeError):
    """A store that is missing, incomplete or corrupt."""


# Enough of an image's start for any header ``declared_size`` reads in our stores.
_HEADER_BYTES = 65536


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.overwrite = overwrite
        self.tmp = Path(tempfile.mkdtemp(prefix=self.path.name + ".partial-", dir=self.path.parent))
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
        self.tmp.chmod(0o755)  # mkdtemp makes 0700; a store is an ordinary readable folder
        try:
            _publish(self.tmp, self.path, self.overwrite)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
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


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move a finished store into place. An existing one (from an earlier or a concurrent writer)
    is an error without ``overwrite``; with it, it is moved aside first and removed after."""
    for _ in range(10):
        try:
            os.rename(tmp, path)
            return
        except OSError:
            if not path.exists():
                raise
            if not overwrite:
                raise FileExistsError(f"{path}: appeared while this store was written (another writer?); "
                                      "nothing replaced, pass overwrite to replace it") from None
            old = Path(tempfile.mkdtemp(prefix=path.name + ".old-", dir=path.parent))
            try:
                os.rename(path, old / "store")
            except FileNotFoundError:  # another writer moved it meanwhile
                pass
            shutil.rmtree(old, ignore_errors=True)
    raise LmdbError(f"{path}: could not publish the store (other writers keep replacing it)")


_ENVS: dict[tuple, list] = {}  # (device, inode) of data.mdb -> [environment, pid, readers using it]


def _file_id(path: Path) -> tuple:
    try:
        st = os.stat(path / "data.mdb")
    except OSError:
        raise LmdbError(f"{path}: not an LMDB folder (no data.mdb)") from None
    return st.st_dev, st.st_ino


def _acquire_env(path: Path):
    """The shared read-only environment of a store (opened, and checked, on first use) and its key."""
    _check_file(path)
    key = _file_id(path)
    entry = _ENVS.get(key)
    if entry is not None and entry[1] == os.getpid():
        entry[2] += 1
        return entry[0], key
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_readers=64)
    except lmdb.Error as e:
        raise LmdbError(f"{path}: cannot open LMDB ({e})") from None
    try:
        need = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    except lmdb.Error as e:
        env.close()
        raise LmdbError(f"{path}: corrupt LMDB ({e})") from None
    size = os.path.getsize(path / "data.mdb")
    if size < need:
        env.close()
        raise LmdbError(f"{path}: data.mdb is cut short ({size} bytes, its header needs {need}); "
                        "copy or rebuild the store")
    try:
        _checked(path, key)
    except LmdbError:
        env.close()
        raise
    _ENVS[key] = [env, os.getpid(), 1]
    return env, key


_CHECKED: set[tuple] = set()  # files (identity, size, mtime) whose structure was checked


def _checked(path: Path, key: tuple) -> None:
    """Walk the store's tree once per file version (see ocr.data.lmdb_check)."""
    from ocr.data.lmdb_check import StoreDamage, check_store

    st = os.stat(path / "data.mdb")
    version = (*key, st.st_size, st.st_mtime_ns)
    if version in _CHECKED:
        return
    try:
        check_store(path)
    except StoreDamage as e:
        raise LmdbError(f"{path}: damaged LMDB ({e}); rebuild or copy the store again") from None
    except OSError as e:
        raise LmdbError(f"{path}: cannot read ({e.strerror})") from None
    _CHECKED.add(version)


def _check_file(path: Path) -> None:
    data = path / "data.mdb"
    if not data.is_file():
        raise LmdbError(f"{path}: not an LMDB folder (no data.mdb)")
    if data.stat().st_size < 2 * 4096:
        raise LmdbError(f"{path}: data.mdb is too short to be an LMDB ({data.stat().st_size} bytes)")


def _release_env(key: tuple) -> None:
    entry = _ENVS.get(key)
    if entry is None or entry[1] != os.getpid():
        return
    entry[2] -= 1
    if entry[2] <= 0:
        entry[0].close()
        del _ENVS[key]


class LmdbReader:
    """Read-only access opened lazily (once per process, so it is safe in DataLoader workers)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            partial = list(self.path.parent.glob(self.path.name + ".partial*"))
            hint = " (an unfinished write exists beside it)" if partial else ""
            raise LmdbError(f"{self.path}: no such LMDB{hint}")
        self._env = None
        self._pid = None
        try:
            with self._open().begin() as txn:
                raw = txn.get(b"num-samples")
                schema = txn.get(b"schema")
                first_image = txn.get(image_key(1))
                entries = txn.stat()["entries"]
        except lmdb.Error as e:
            self._close()
            raise LmdbError(f"{self.path}: corrupt LMDB ({e})") from None
        self._close()
        if raw is None:
            raise LmdbError(f"{self.path}: not a complete store (no num-samples key)")
        try:
            self.num_samples = int(raw)
        except ValueError:
            raise LmdbError(f"{self.path}: num-samples is not an integer: {raw[:20]!r}") from None
        if self.num_samples and first_image is None:
            raise LmdbError(f"{self.path}: no image keys (image-%09d); a label-only store cannot be read")
        if not 0 <= self.num_samples <= entries // 2:
            raise LmdbError(f"{self.path}: num-samples {self.num_samples} does not fit the {entries} entries")
        self.schema = schema.decode("utf-8", errors="replace") if schema else None

    def _open(self):
        if self._env is None or self._pid != os.getpid():
            self._env, self._key = _acquire_env(self.path)
            self._pid = os.getpid()
        return self._env

    def _close(self) -> None:
        if self._env is not None and self._pid == os.getpid():
            _release_env(self._key)
        self._env = None

    def __del__(self):
        try:
            self._close()
        except Exception:  # interpreter shutdown
            pass

    def __len__(self) -> int:
        return self.num_samples

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_env"] = None
        return state

    def get(self, index: int) -> tuple[bytes, str]:
        """(image bytes, label text) of sample ``index`` (1-based). Raises LmdbError if missing."""
        try:
            with self._open().begin() as txn:
                img = txn.get(image_key(index))
                lab = txn.get(label_key(index))
        except lmdb.Error as e:
            raise LmdbError(f"{self.path}: corrupt LMDB at sample {index} ({e})") from None
        if img is None or lab is None:
            raise LmdbError(f"{self.path}: sample {index} is missing")
        try:
            return img, lab.decode("utf-8")
        except UnicodeDecodeError:
            raise LmdbError(f"{self.path}: label of sample {index} is not UTF-8") from None

    def labels(self) -> list[str]:
        """All labels in index order (cheap: no image is read). The environment is closed
        afterwards, so that DataLoader workers forked later can open their own."""
        return self._scan(label_key, lambda raw: bytes(raw).decode("utf-8", errors="replace"))

    def image_sizes(self) -> list[tuple[int, int] | None]:
        """(width, height) each image's header declares, in index order (None: not told), read
        without decoding any image; closed afterwards, as ``labels``."""
        return self._scan(image_key, lambda raw: declared_size(bytes(raw[:_HEADER_BYTES])))

    def _scan(self, key, convert) -> list:
        """``convert(value)`` of every sample's ``key(i)`` record (None where it is missing), in
        one read transaction."""
        out = []
        was_open = self._env is not None
        try:
            with self._open().begin(buffers=True) as txn:
                for i in range(1, self.num_samples + 1):
                    raw = txn.get(key(i))
                    out.append(convert(raw) if raw is not None else None)
        except lmdb.Error as e:
            self._close()
            raise LmdbError(f"{self.path}: corrupt LMDB ({e})") from None
        if not was_open:
            self._close()
        return out

    def annotations(self) -> list[dict]:
        """JSON annotations of every sample of a detection/page store, in index order, read in one
        transaction and closed afterwards (as ``labels``: DataLoader workers forked later open their own)."""
        out = []
        for i, text in enumerate(self.labels(), 1):
            try:
                out.append(json.loads(text if text is not None else ""))
            except json.JSONDecodeError:
                raise LmdbError(f"{self.path}: annotation of sample {i} is missing or not valid JSON") from None
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
