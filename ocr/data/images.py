"""Image decoding with clear errors: every failure names the input."""
from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

MAX_PIXELS = 120_000_000  # ~11000 x 11000; larger inputs are refused rather than exhausting memory


class ImageError(ValueError):
    """An input that cannot be used as an image; the message names it."""


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Encoded bytes -> RGB uint8 (H, W, 3). Raises ImageError naming ``name``."""
    if not data:
        raise ImageError(f"{name}: empty file")
    buf = np.frombuffer(data, np.uint8)
    _check_size(buf, name)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        img = _decode_with_pil(data, name)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ImageError(f"{name}: image has no pixels")
    return img


def _check_size(buf: np.ndarray, name: str) -> None:
    """Refuse images whose header says they are enormous, before decoding them."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with _no_pil_pixel_limit(), Image.open(io.BytesIO(buf.tobytes())) as im:
                w, h = im.size
    except Exception:
        return  # not readable by PIL's header parser; let the decoder decide
    if w * h > MAX_PIXELS:
        raise ImageError(f"{name}: image is too large ({w}x{h} pixels; limit {MAX_PIXELS} pixels)")


@contextlib.contextmanager
def _no_pil_pixel_limit():
    """PIL's own bomb check raises before we can report the size; our MAX_PIXELS check replaces it."""
    from PIL import Image

    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = old


def _decode_with_pil(data: bytes, name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"{name}: not a readable image ({e.__class__.__name__}: {e})") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a file as RGB uint8, with one-line errors naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory") from None
    except OSError as e:
        raise ImageError(f"{path}: cannot read ({e.strerror})") from None
    return decode_image(data, str(path))


def to_rgb(img: np.ndarray, name: str = "<array>") -> np.ndarray:
    """Accept gray (H, W), (H, W, 1), RGB or RGBA arrays of uint8 or float in [0, 1]; return RGB uint8."""
    if not isinstance(img, np.ndarray):
        raise ImageError(f"{name}: expected a numpy array, got {type(img).__name__}")
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            img = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.ndim == 3 and img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_RGBA2RGB)
    raise ImageError(f"{name}: unsupported image shape {img.shape}")
