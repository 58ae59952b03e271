"""Small generated data for tests (no external files)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ocr.data.lmdb_store import LmdbWriter


def text_image(text: str, height: int = 32, seed: int = 0) -> bytes:
    """A PNG of ``text`` in PIL's default font on a light background."""
    rng = np.random.default_rng(seed)
    font = ImageFont.load_default()
    w = max(8, int(font.getlength(text)) + 8)
    img = Image.new("RGB", (w, 14), tuple(int(v) for v in rng.integers(200, 255, 3)))
    ImageDraw.Draw(img).text((4, 1), text, fill=(0, 0, 0), font=font)
    img = img.resize((max(8, w * height // 14), height))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_rec_lmdb(path, labels: list[str], corrupt: tuple[int, ...] = ()) -> str:
    """A recognition LMDB of rendered labels; indices (0-based) in ``corrupt`` get garbage bytes."""
    with LmdbWriter(path) as w:
        for i, label in enumerate(labels):
            w.add(b"not an image" if i in corrupt else text_image(label, seed=i), label)
    return str(path)


def image_pdf(images, dpi=150, password=None) -> bytes:
    """A PDF with one page per image, each page the image at ``dpi``."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    for img in images:
        h, w = img.shape[:2]
        pdf.add_page(format=(w * 72 / dpi, h * 72 / dpi))
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        pdf.image(buf, x=0, y=0, w=w * 72 / dpi, h=h * 72 / dpi)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    return bytes(pdf.output())
