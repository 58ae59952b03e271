"""Draw a Page's polygons and text on its image and write a PNG."""
from __future__ import annotations

import re
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
    """A file name in ``folder`` for an input: its base name (page suffix kept), made safe, + .png."""
    base = Path(name.split("#")[0]).stem + ("_" + name.split("#", 1)[1] if "#" in name else "")
    base = re.sub(r"[^\w.-]+", "_", base) or f"image{index}"
    return Path(folder) / f"{index:05d}_{base}.png"


def save_viz(img: np.ndarray, page: Page, path: str | Path) -> Path:
    """Draw the page and write it as PNG; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn = draw_page(img, page)
    if not cv2.imwrite(str(path), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
        raise OSError(f"{path}: cannot write image")
    return path
