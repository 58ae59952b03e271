"""What ``ocr batch`` reads: folders, globs, ``@manifest`` files and URIs of any pyarrow filesystem.

Each input becomes ``{"name", "uri"}``: ``name`` is what results are called (the path as
``ocr read`` names it, or the URI), ``uri`` where a worker fetches the bytes (an absolute local
path or a filesystem URI such as ``s3://bucket/key``). An input that matches nothing stays in
the list with an ``error``, so that it gets an error row.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from ocr.pipeline.inputs import IMAGE_EXTS

READABLE_EXTS = IMAGE_EXTS | {".pdf"}
_GLOB_CHARS = set("*?[")


def filesystem(uri: str):
    """``(pyarrow filesystem, path in it)`` for a local path or a URI."""
    from pyarrow import fs

    if "://" in uri:
        return fs.FileSystem.from_uri(uri)
    return fs.LocalFileSystem(), os.path.abspath(uri)


def list_inputs(specs: list[str]) -> list[dict]:
    """Expand folders, globs, ``@manifests`` and URIs into rows ``{"name", "uri", "error"}``, in order."""
    rows: list[dict] = []
    for spec in specs:
        if spec.startswith("@") and len(spec) > 1:
            rows += _manifest(spec[1:])
        else:
            rows += _expand(spec)
    return rows


def _manifest(spec: str) -> list[dict]:
    try:
        fs, path = filesystem(spec)
        with fs.open_input_stream(path) as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [_row("@" + spec, error=f"@{spec}: cannot read manifest ({_why(e)})")]
    base = None if "://" in spec else Path(spec).parent
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if base is not None and "://" not in line and not os.path.isabs(line) and not os.path.exists(line):
            line = str(base / line)
        rows += _expand(line)
    return rows


def _expand(spec: str) -> list[dict]:
    """A file -> itself; a folder -> its readable files (sorted, not recursive); a glob -> its matches."""
    try:
        if _GLOB_CHARS & set(spec):
            return _glob(spec)
        from pyarrow import fs as pafs

        fs, path = filesystem(spec)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.Directory:
            return [_row(_join(spec, f.base_name)) for f in _listing(fs, path)
                    if Path(f.base_name).suffix.lower() in READABLE_EXTS]
        if info.type == pafs.FileType.File:
            return [_row(spec)]
    except (OSError, ValueError) as e:
        return [_row(spec, error=f"{spec}: cannot list ({_why(e)})")]
    return [_row(spec, error=f"{spec}: no such file or directory")]


def _glob(spec: str) -> list[dict]:
    """Matches of a glob in its last path component (``scans/*.png``, ``s3://b/p/*.jpg``)."""
    parent, pattern = spec.rsplit("/", 1) if "/" in spec else (".", spec)
    fs, path = filesystem(parent)
    names = [f.base_name for f in _listing(fs, path) if fnmatch.fnmatch(f.base_name, pattern)]
    if not names:
        return [_row(spec, error=f"{spec}: no files match")]
    return [_row(_join(parent, n) if "/" in spec else n) for n in names]


def _listing(fs, path: str):
    from pyarrow import fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    return sorted((f for f in infos if f.type == pafs.FileType.File), key=lambda f: f.base_name)


def _join(folder: str, name: str) -> str:
    if "://" in folder:
        return folder.rstrip("/") + "/" + name
    return str(Path(folder) / name)


def _row(name: str, error: str | None = None) -> dict:
    uri = name if "://" in name else os.path.abspath(name)
    return {"name": name, "uri": uri, "error": error}


def _why(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e).splitlines()[0]
