"""Draw a Page's polygons and text on its image and write a PNG."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ocr.types import Page

LINE_COLOUR = (0, 160, 255)
WORD_COLOUR = (255, 64, 64)


def draw_page(img: np.ndarray, page: Page, words: bool = True) -> np.ndarray:
    """An RGB copy of ``img`` with line polygons (blue), word polygons (red) and the text."""
    out = img.copy()
    thick = max(1, round(max(img.shape[:2]) / 800))
    for line in page.lines:
        cv2.polylines(out, [np.round(line.polygon).astype(np.int32)], True, LINE_COLOUR, thick)
        if words:
            for w in line.words:
                cv2.polylines(out, [np.round(w.polygon).astype(np.int32)], True, WORD_COLOUR, thick)
    return _draw_labels(out, page)


def _draw_labels(img: np.ndarray, page: Page) -> np.ndarray:
    """Each word's text just above its polygon, on a white background for legibility."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.fromarray(img)
    draw = ImageDraw.Draw(canvas)
    for w in page.words:
        if not w.text:
            continue
        pts = np.asarray(w.polygon)
        size = int(np.clip((pts[:, 1].max() - pts[:, 1].min()) * 0.5, 10, 48))
        try:
            font = ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1
            font = ImageFont.load_default()
        x, y = float(pts[:, 0].min()), max(0.0, float(pts[:, 1].min()) - size - 2)
        box = draw.textbbox((x, y), w.text, font=font)
        draw.rectangle(box, fill=(255, 255, 255))
        draw.text((x, y), w.text, fill=(200, 0, 0), font=font)
    return np.asarray(canvas)


def viz_path(folder: str | Path, name: str, index: int) -> Path:
    """A file name in ``folder`` for an input: its base name (page suffix kept), made safe, and a
    short hash of the whole name (inputs of the same name in different folders stay apart) + .png."""
    base = Path(name.split("#")[0]).stem + ("_" + name.split("#", 1)[1] if "#" in name else "")
    base = re.sub(r"[^\w.-]+", "_", base)[:80] or f"image{index}"
    tag = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return Path(folder) / f"{index:05d}_{base}_{tag}.png"


def save_viz(img: np.ndarray, page: Page, path: str | Path) -> Path:
    """Draw the page and write it as PNG; returns the path."""
    drawn = draw_page(img, page)
    return write_image(path, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))


def write_image(path: str | Path, bgr: np.ndarray) -> Path:
    """Encode by the file's extension and write atomically: a temporary file in the same folder
    renamed into place, so that a link already at ``path`` is replaced, never written through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".png", bgr)
    if not ok:
        raise OSError(f"{path}: cannot encode image")
    fd, tmp = tempfile.mkstemp(prefix=".viz-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
