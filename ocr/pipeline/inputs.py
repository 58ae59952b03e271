"""What to read: command-line inputs expanded to a list of items, and any image-like object loaded.

Command-line inputs (``expand_inputs``):

- an image file;
- a directory: its image files (by extension, not recursive), sorted by name;
- ``@list.txt``: one path per line (blank lines and lines starting with ``#`` skipped); a relative
  path is taken from the current folder, else from the list file's folder;
- ``-``: the same, one path per line, read from standard input;
- a multi-page TIFF or PDF becomes one item per page, named ``file.tif#page1``, ``file.pdf#page2``, ...
  (PDF pages are rendered at ``dpi``, see ``ocr.pipeline.pdf``); a PDF that cannot be opened
  (encrypted, damaged, empty) becomes one item carrying its error.

An input that cannot be expanded (missing file, unreadable list) becomes an item carrying its
error, so that results stay in input order and the rest of the batch goes on.
"""
from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ocr.data.images import (ImageError, check_pixels, decode_image, native_messages_silenced, pil_to_rgb,
                             read_image, to_rgb)
from ocr.pipeline.pdf import DPI, MAX_DPI, is_pdf, pdf_page_count, render_pdf_page

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pbm", ".pgm", ".ppm",
              ".jp2", ".pdf"}
_TIFF_EXTS = {".tif", ".tiff"}
_PAGE_RE = re.compile(r"^(.*)#page(\d+)$")
_BYTESIO_RE = re.compile(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>")  # in some PIL messages


@dataclass(frozen=True)
class InputItem:
    """One image to read: a display ``name``, the file ``path``, a TIFF or PDF ``page`` (0-based) or
    an ``error``; ``dpi``: the resolution PDF pages are rendered at; ``data``: a PDF given as bytes."""

    name: str
    path: str | None = None
    page: int | None = None
    error: str | None = None
    dpi: float = DPI
    data: bytes | None = field(default=None, repr=False)


def expand_inputs(specs: list[str], stdin=None, dpi: float = DPI) -> list[InputItem]:
    """Expand files, directories, ``@lists`` and ``-`` into items, in the order given."""
    if not 0 < dpi <= MAX_DPI:
        raise ValueError(f"dpi must be within (0, {MAX_DPI}], got {dpi:g}")
    items: list[InputItem] = []
    for spec in specs:
        if spec == "-":
            items += _expand_lines((stdin or sys.stdin).read().splitlines(), base=None)
        elif spec.startswith("@") and len(spec) > 1:
            items += _expand_list_file(spec[1:])
        else:
            items += _expand_path(spec)
    return [replace(item, dpi=dpi) for item in items] if dpi != DPI else items


def _expand_list_file(path: str) -> list[InputItem]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        return [InputItem(name="@" + path, error=f"@{path}: cannot read list ({e.strerror})")]
    except UnicodeDecodeError:
        return [InputItem(name="@" + path, error=f"@{path}: list is not UTF-8 text")]
    return _expand_lines(lines, base=Path(path).parent)


def _expand_lines(lines: list[str], base: Path | None) -> list[InputItem]:
    items = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if base is not None and not os.path.isabs(line) and not os.path.exists(line):
            line = str(base / line)
        items += _expand_path(line)
    return items


def _expand_path(spec: str) -> list[InputItem]:
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())
        return [item for f in files for item in _expand_file(str(f))]
    if path.is_file():
        return _expand_file(spec)
    m = _PAGE_RE.match(spec)
    if m and Path(m.group(1)).is_file():
        return [InputItem(name=spec, path=m.group(1), page=int(m.group(2)) - 1)]
    return [InputItem(name=spec, error=f"{spec}: no such file or directory")]


def _expand_file(path: str) -> list[InputItem]:
    """A file -> one item, or one per page for a multi-page TIFF or PDF."""
    if is_pdf(path):
        try:
            n = pdf_page_count(path, path)
        except ImageError as e:
            return [InputItem(name=path, path=path, error=str(e))]
        if n > 1:
            return [InputItem(name=f"{path}#page{i + 1}", path=path, page=i) for i in range(n)]
        return [InputItem(name=path, path=path, page=0)]
    if Path(path).suffix.lower() in _TIFF_EXTS:
        n = tiff_page_count(path)
        if n > 1:
            return [InputItem(name=f"{path}#page{i + 1}", path=path, page=i) for i in range(n)]
    return [InputItem(name=path, path=path)]


def tiff_page_count(src) -> int:
    """Number of pages in a TIFF, a path or its bytes (1 when it cannot be told; decoding reports
    the error later)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src) as im, native_messages_silenced():
            return int(getattr(im, "n_frames", 1))
    except Exception:
        return 1


def load_item(item: InputItem) -> np.ndarray:
    """Decode one item to RGB uint8 (H, W, 3); raises ImageError naming it."""
    if item.error:
        raise ImageError(item.error)
    if pdf_source(item) is not None:
        return load_item_dpi(item)[0]
    if item.page is None:
        return _guarded(read_image, item.name, item.path)
    return _guarded(read_tiff_page, item.name, item.path, item.page, item.name)


def load_item_dpi(item: InputItem) -> tuple[np.ndarray, float]:
    """``load_item`` and the image's resolution: a PDF page's as rendered, else ``item.dpi``."""
    src = pdf_source(item) if item.error is None else None
    if src is not None:
        img, size = _guarded(lambda: render_pdf_page(src, item.page, item.dpi, item.name), item.name)
        return img, 72.0 * img.shape[1] / size[0]
    return load_item(item), item.dpi


def pdf_source(item: InputItem):
    """The PDF bytes or path of a PDF page item, else None."""
    if item.data is not None:
        return item.data
    return item.path if item.page is not None and item.path and is_pdf(item.path) else None


def _guarded(fn, name: str, *args) -> np.ndarray:
    """Run a decoder; any decoder failure becomes a one-line ImageError naming the input."""
    try:
        return fn(*args)
    except ImageError as e:
        raise ImageError(_BYTESIO_RE.sub("data", str(e))) from None
    except Exception as e:  # e.g. PIL's DecompressionBombError, which is no OSError
        if type(e).__name__ == "DecompressionBombError":
            raise ImageError(f"{name}: image is too large ({e})") from None
        raise ImageError(f"{name}: not a readable image ({e.__class__.__name__}: {e})") from None


def read_tiff_page(path: str, page: int, name: str) -> np.ndarray:
    """One page (0-based) of a multi-page image file, with the same limits as ``decode_image``."""
    return decode_tiff_page(_read_bytes(path, name), page, name)


def decode_tiff_page(data: bytes, page: int, name: str) -> np.ndarray:
    """One page (0-based) of a multi-page image's bytes, with the same limits as ``decode_image``."""
    from PIL import Image

    from ocr.data.image_header import declared_size

    size = declared_size(data)
    if size is None:
        raise ImageError(f"{name}: not a readable image (unknown format or broken header)")
    check_pixels(size, name)
    try:
        with Image.open(io.BytesIO(data)) as im, native_messages_silenced():
            n = int(getattr(im, "n_frames", 1))
            if not 0 <= page < n:
                raise ImageError(f"{name}: no page {page + 1} (the file has {n})")
            im.seek(page)
            check_pixels(im.size, name)
            im.load()
            return pil_to_rgb(im, name)
    except ImageError:
        raise
    except Exception as e:  # Pillow raises many types on broken files
        raise ImageError(f"{name}: not a readable image ({e.__class__.__name__}: {e})") from None


def _read_bytes(path: str, name: str) -> bytes:
    from ocr.data import images

    try:
        if os.path.getsize(path) > images.MAX_FILE_BYTES:
            raise ImageError(f"{name}: file is too large (limit {images.MAX_FILE_BYTES} bytes)")
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ImageError(f"{name}: cannot read ({e.strerror})") from None


def load_image(x, name: str | None = None) -> tuple[np.ndarray, str]:
    """Anything the API accepts -> (RGB uint8 (H, W, 3), display name).

    ``x``: a path (str or PathLike, ``file.tif#page2`` for a TIFF or PDF page), encoded bytes (a PDF's
    first page for PDF bytes), a PIL image, or a numpy array (gray, RGB or RGBA; uint8 or float in [0, 1]).
    """
    if isinstance(x, (str, os.PathLike)):
        path = os.fspath(x)
        if Path(path).is_dir():
            raise ImageError(f"{path}: is a directory (read one image at a time, or use expand_inputs)")
        item = _expand_path(path)[0]  # a multi-page TIFF gives its first page
        return load_item(item), name or item.name
    if isinstance(x, (bytes, bytearray, memoryview)):
        name = name or "<bytes>"
        if is_pdf(x):
            return _guarded(lambda: render_pdf_page(bytes(x), 0, DPI, name)[0], name), name
        return _guarded(decode_image, name, bytes(x), name), name
    if isinstance(x, np.ndarray):
        name = name or "<array>"
        return _guarded(to_rgb, name, x, name), name
    if _is_pil(x):
        name = name or "<PIL image>"
        return _guarded(pil_to_rgb, name, x, name), name
    raise ImageError(f"{name or '<input>'}: cannot read a {type(x).__name__}; "
                     "pass a path, bytes, a PIL image or a numpy array")


def document_items(x, dpi: float = DPI, name: str | None = None) -> list:
    """The pages of a document, each something ``Reader.read_batch`` reads: ``InputItem``s for a
    path (one per PDF or TIFF page), lazily rendered pages for PDF bytes, else ``[x]``."""
    if isinstance(x, (str, os.PathLike)):
        items = _expand_path(os.fspath(x))
        return [replace(item, dpi=dpi) for item in items]
    if isinstance(x, (bytes, bytearray, memoryview)) and is_pdf(x):
        data, name = bytes(x), name or "<bytes>"
        n = _guarded(lambda: pdf_page_count(data, name), name)
        return [InputItem(name=f"{name}#page{i + 1}" if n > 1 else name, page=i, dpi=dpi, data=data)
                for i in range(n)]
    return [x]


def _is_pil(x) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, Image.Image)


def encode_png(img: np.ndarray) -> bytes:
    """RGB uint8 -> PNG bytes (used by tests and the visualiser)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()
