"""Image decoding with clear errors: every failure names the input.

Limits (module attributes, also set from the environment): ``MAX_PIXELS`` (``OCR_MAX_PIXELS``,
default 40 million, e.g. an A4 page at 600 dpi) and ``MAX_FILE_BYTES`` (``OCR_MAX_FILE_BYTES``,
default 200 MB). The pixel limit is checked on the size the file's header declares, before any
decoder runs; a file whose size cannot be told from its header is refused. Transparent images are
composited onto white (text drawn only in the alpha channel stays readable).
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np

from ocr.data.image_header import declared_size, is_png, might_have_alpha, png_chunks_fit

MAX_PIXELS = int(os.environ.get("OCR_MAX_PIXELS", 40_000_000))
MAX_FILE_BYTES = int(os.environ.get("OCR_MAX_FILE_BYTES", 200_000_000))
_ROWS = 512  # rows converted at a time, so that conversions never hold a second full-size copy


def _quiet_pil() -> None:
    """Pillow's bomb warning is replaced by our own limit (set once at import, never toggled)."""
    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


_quiet_pil()


_SILENCE_NATIVE = False  # set by quiet_decoders(): C decoders' own messages are dropped


def quiet_decoders() -> None:
    """For command-line runs (one line per bad file): silence the decoders' own chatter: OpenCV's
    log, Pillow's warnings and log records, and what libpng/libjpeg/libtiff print themselves.
    Process-wide, so it is meant for the ``ocr`` command, not for library use."""
    global _SILENCE_NATIVE
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is not None:
        log.setLogLevel(log.LOG_LEVEL_SILENT)
    warnings.filterwarnings("ignore", module=r"PIL\.")
    logging.getLogger("PIL").addHandler(logging.NullHandler())
    logging.getLogger("PIL").propagate = False
    _SILENCE_NATIVE = True


@contextlib.contextmanager
def native_messages_silenced():
    """Standard error (file descriptor 2) pointed at /dev/null while a C decoder runs, when
    ``quiet_decoders`` was called; otherwise nothing changes."""
    if not _SILENCE_NATIVE:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class ImageError(ValueError):
    """An input that cannot be used as an image; the message (one line) names it."""

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded bytes -> RGB uint8 (H, W, 3). Raises ImageError naming ``name``."""
    if not data:
        raise ImageError(f"{name}: empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"{name}: file is too large ({len(data)} bytes; limit {MAX_FILE_BYTES})")
    size = declared_size(data)
    if size is None:
        raise ImageError(f"{name}: not a readable image (unknown format or broken header)")
    check_pixels(size, name)
    png = is_png(data)
    if png and not png_chunks_fit(data):  # Pillow checks chunk lengths before it reads them
        return _decode_with_pil(data, name)
    if might_have_alpha(data):  # Pillow: it decodes 16-bit RGBA straight to 8-bit, in less memory
        try:
            return _decode_with_pil(data, name)
        except ImageError as e:
            img = _cv2_decode(data, cv2.IMREAD_UNCHANGED) if png else None  # e.g. a bad text checksum
            if img is None:
                raise e from None
    else:  # JPEG, PNM, opaque PNG
        img = _cv2_decode(data, cv2.IMREAD_COLOR)  # 16-bit is read as 8-bit
        if img is None:
            return _decode_with_pil(data, name)
    if img.shape[0] * img.shape[1] > MAX_PIXELS:  # the decoder found more than the header said
        raise ImageError(f"{name}: image is too large ({img.shape[1]}x{img.shape[0]} pixels)")
    return _bgr_any_to_rgb(img, name)


def _cv2_decode(data: bytes, flags: int) -> np.ndarray | None:
    try:
        with native_messages_silenced():
            img = cv2.imdecode(np.frombuffer(data, np.uint8), flags | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        return None
    if img is None or img.ndim == 3 and img.shape[2] not in (1, 3, 4) or img.ndim not in (2, 3):
        return None
    return img


def check_pixels(size: tuple[int, int], name: str) -> None:
    """Refuse a (width, height) beyond ``MAX_PIXELS`` or without pixels."""
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: image is too large ({w}x{h} pixels; limit {MAX_PIXELS} pixels, "
                         "OCR_MAX_PIXELS changes it)")
    if w < 1 or h < 1:
        raise ImageError(f"{name}: image has no pixels")


def _bgr_any_to_rgb(img: np.ndarray, name: str) -> np.ndarray:
    """OpenCV's decode (gray, BGR or BGRA; 8/16-bit or float) -> RGB uint8."""
    if img.ndim == 3 and img.shape[2] == 4:
        return _on_white(img, bgr=True)
    img = _to_uint8(img)
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB, dst=img)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """8-bit copy of a 16-bit, float or wider image, a block of rows at a time (no full-size temporaries)."""
    if img.dtype == np.uint8:
        return img
    out = np.empty(img.shape, np.uint8)
    for y in range(0, img.shape[0], _ROWS):
        block = img[y:y + _ROWS]
        if block.dtype == np.uint16:
            out[y:y + _ROWS] = block >> 8
        elif np.issubdtype(block.dtype, np.floating):
            out[y:y + _ROWS] = np.clip(np.nan_to_num(block), 0, 1) * 255 + 0.5
        else:
            out[y:y + _ROWS] = np.clip(block, 0, 255)
    return out


def _on_white(img: np.ndarray, bgr: bool = False) -> np.ndarray:
    """RGBA (or BGRA), any depth, composited onto white -> RGB uint8, a block of rows at a time."""
    h, w = img.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    order = [2, 1, 0] if bgr else [0, 1, 2]
    for y in range(0, h, _ROWS):
        block = _to_uint8(img[y:y + _ROWS])
        a = block[:, :, 3:4].astype(np.uint16)
        rgb = block[:, :, order].astype(np.uint16)
        out[y:y + _ROWS] = ((rgb * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)
    return out


def _decode_with_pil(data: bytes, name: str) -> np.ndarray:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im, native_messages_silenced():
            check_pixels(im.size, name)
            im.load()
            return pil_to_rgb(im, name)
    except ImageError:
        raise
    except Exception as e:  # Pillow raises many types on broken files (OSError, SyntaxError, ...)
        raise ImageError(f"{name}: not a readable image ({e.__class__.__name__}: {e})") from None


def pil_to_rgb(im, name: str = "<PIL image>") -> np.ndarray:
    """A PIL image -> RGB uint8; transparency composited onto white. Converted a block of rows at
    a time, so that no second full-size copy is made."""
    check_pixels(im.size, name)
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        scale = 65535.0 if im.mode.startswith("I;16") else 255.0
        return to_rgb(np.asarray(im.convert("F"), np.float32) / np.float32(scale), name)
    alpha = "A" in im.getbands() or "transparency" in im.info
    w, h = im.size
    out = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, _ROWS):
        block = im.crop((0, y, w, min(h, y + _ROWS)))
        if alpha:
            out[y:y + _ROWS] = _on_white(np.asarray(block.convert("RGBA")))
        else:
            out[y:y + _ROWS] = np.asarray(block.convert("RGB"))
    return out


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a file as RGB uint8, with one-line errors naming the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ImageError(f"{path}: file is too large ({size} bytes; limit {MAX_FILE_BYTES}, "
                                 "OCR_MAX_FILE_BYTES changes it)")
            data = f.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory") from None
    except OSError as e:
        raise ImageError(f"{path}: cannot read ({e.strerror})") from None
    return decode_image(data, str(path))


def to_rgb(img: np.ndarray, name: str = "<array>") -> np.ndarray:
    """Accept gray (H, W), (H, W, 1), RGB or RGBA arrays of uint8, int or float in [0, 1]; return
    RGB uint8 (RGBA composited onto white)."""
    if not isinstance(img, np.ndarray):
        raise ImageError(f"{name}: expected a numpy array, got {type(img).__name__}")
    if img.dtype.kind not in "biuf":
        raise ImageError(f"{name}: unsupported array dtype {img.dtype} (use uint8 or float)")
    if img.ndim not in (2, 3) or img.ndim == 3 and img.shape[2] not in (1, 3, 4):
        raise ImageError(f"{name}: unsupported image shape {img.shape}")
    check_pixels((img.shape[1], img.shape[0]), name)
    if img.dtype != np.uint8:
        if img.dtype.kind == "f":
            img = (np.clip(np.nan_to_num(img), 0, 1) * 255 + 0.5).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.cvtColor(np.ascontiguousarray(img.reshape(img.shape[:2])), cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return _on_white(img)
    return img
