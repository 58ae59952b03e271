"""Contact sheets of synthetic samples for visual inspection."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import discover_fonts


def _label_font(size: int = 14):
    for f in discover_fonts():
        if f.name in ("DejaVuSansMono", "LiberationMono-Regular"):
            return ImageFont.truetype(f.path, size)
    return ImageFont.load_default()


def crop_grid(samples, cols: int = 2, col_w: int = 640) -> Image.Image:
    """Crops in ``cols`` columns, each with its label printed beneath in red."""
    font = _label_font(14)
    cell_h = 64 + 22
    rows = (len(samples) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * col_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (img, label) in enumerate(samples):
        x, y = (k % cols) * col_w, (k // cols) * cell_h
        im = Image.fromarray(img)
        if im.width > col_w - 8:
            im = im.crop((0, 0, col_w - 8, im.height))
            label = label + "  [crop shown cut]"
        sheet.paste(im, (x + 4, y + 2))
        draw.text((x + 4, y + 66), label, fill=(220, 0, 0), font=font)
    return sheet


def compare_grid(synthetic, real, height: int = 48, col_w: int = 640) -> Image.Image:
    """Synthetic crops (left column) beside real ones (right), each scaled to ``height`` (the model
    sees every crop at one height), labels beneath."""
    def scaled(img):
        im = Image.fromarray(img)
        return np.asarray(im.resize((max(1, round(im.width * height / im.height)), height), Image.BICUBIC))
    pairs = [(scaled(img), label) for pair in zip(synthetic, real) for img, label in pair]
    return crop_grid(pairs, cols=2, col_w=col_w)


def det_grid(samples, cols: int = 3, cell: int = 600) -> Image.Image:
    """Detection samples scaled to ``cell`` px with word polygons (green) and line polygons
    (blue) drawn over them."""
    rows = (len(samples) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell, rows * cell), "white")
    for k, (img, ann) in enumerate(samples):
        im = Image.fromarray(img)
        s = cell / max(im.size)
        im = im.resize((max(1, int(im.width * s)), max(1, int(im.height * s))))
        draw = ImageDraw.Draw(im)
        for key, color in (("lines", (0, 90, 255)), ("words", (0, 220, 0))):
            for item in ann.get(key, []):
                pts = [tuple(p) for p in (np.asarray(item["polygon"], float) * s).tolist()]
                draw.line(pts + pts[:1], fill=color, width=1)
        sheet.paste(im, ((k % cols) * cell, (k // cols) * cell))
    return sheet
