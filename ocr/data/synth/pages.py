"""Document pages, forms and receipts for page-level detection/recognition.

A page is laid out as rows of text segments (a segment is one annotated ``line``: a run of words
with normal spacing; a receipt row "item  qty  price" is three segments). The annotation holds
4-point word and line polygons and ``text``: rows in reading order (columns top to bottom, left
column first), segments of a row joined by a space, rows by ``\\n``. The page then gets a slight
rotation/perspective and scan-like degradations; polygons follow the same warp.
"""
from __future__ import annotations

import cv2
import numpy as np

from . import effects
from .backgrounds import TexturePool, random_color
from .fonts import FontPool
from .render import render_text
from .scenes import _poly_list, to_image
from .text_source import TextSource


class PageBuilder:
    """Accumulates rendered segments onto a page-sized ink mask with their polygons."""

    def __init__(self, w: int, h: int):
        self.w, self.h = w, h
        self.mask = np.zeros((h, w), np.uint8)
        self.graphics = np.zeros((h, w), np.uint8)
        self.words, self.lines, self.rows, self._row = [], [], [], []
        self.last_width = 0.0

    def fits(self, x: float, y: float, width: float, height: float) -> bool:
        return x >= 0 and y >= 0 and x + width <= self.w and y + height <= self.h

    def add(self, text: str, font, x: float, y: float, align: str = "left",
            max_width: float | None = None) -> float:
        """Draw ``text`` with its box's top-left at (x, y) (top-right for ``align='right'``,
        top-centre for ``'center'``), dropping trailing words beyond ``max_width``. Returns the
        box height, or 0 if it did not fit; ``last_width`` holds the box width."""
        words = text.split()
        while max_width and len(words) > 1 and font.getlength(" ".join(words)) > max_width:
            words.pop()
        text = " ".join(words)
        self.last_width = 0.0
        if not text or (max_width and font.getlength(text) > max_width):
            return 0
        r = render_text(text, font)
        q = r.quads
        bw, bh = q[-1, 1, 0] - q[0, 0, 0], q[:, 2, 1].max() - q[:, 0, 1].min()
        x = x - bw if align == "right" else x - bw / 2 if align == "center" else x
        if not self.fits(x, y, bw, bh):
            return 0
        ox, oy = int(round(x - q[0, 0, 0])), int(round(y - q[:, 0, 1].min()))
        self._paste(r.mask, ox, oy)
        first = len(self.words)
        for i, (a, b) in enumerate(r.words):
            self.words.append({"polygon": r.word_polygon(i) + [ox, oy], "text": text[a:b], "ignore": False})
        self.lines.append({"polygon": r.line_polygon() + [ox, oy], "text": text, "ignore": False,
                           "words": list(range(first, len(self.words)))})
        self._row.append(text)
        self.last_width = float(bw)
        return bh

    def _paste(self, m, ox, oy):
        h, w = m.shape
        x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, self.w), min(oy + h, self.h)
        if x1 > x0 and y1 > y0:
            sub = self.mask[y0:y1, x0:x1]
            np.maximum(sub, m[y0 - oy:y1 - oy, x0 - ox:x1 - ox], out=sub)

    def end_row(self):
        """Close the current row (for the reading-order text)."""
        if self._row:
            self.rows.append(" ".join(self._row))
        self._row = []

    def rule(self, x0, y, x1, thickness=1, dashed=False):
        """A horizontal rule (graphics, not annotated)."""
        if dashed:
            for x in range(int(x0), int(x1), 8):
                cv2.line(self.graphics, (x, int(y)), (min(x + 4, int(x1)), int(y)), 255, thickness)
        else:
            cv2.line(self.graphics, (int(x0), int(y)), (int(x1), int(y)), 255, thickness)

    def annotation(self, m: np.ndarray) -> dict:
        """The annotation dict with every polygon mapped through homography ``m``."""
        self.end_row()
        for item in self.words + self.lines:
            item["polygon"] = _poly_list(to_image(item["polygon"], m))
        return {"width": self.w, "height": self.h, "words": self.words, "lines": self.lines,
                "text": "\n".join(self.rows)}


class PageGenerator:
    """Page maker; ``make(rng)`` returns (RGB uint8 image, annotation dict with ``text``)."""

    def __init__(self, seed: int = 0, fonts: FontPool | None = None, text: TextSource | None = None,
                 textures: TexturePool | None = None):
        self.fonts = fonts or FontPool()
        self.text = text or TextSource()
        self.textures = textures or TexturePool(seed)

    def font(self, rng, size, style=None):
        return self.fonts.load(self.fonts.sample(rng, style).path, max(8, int(size)))

    def make(self, rng: np.random.Generator):
        """One page image and its annotation."""
        kind = rng.choice(3, p=[0.4, 0.25, 0.35])
        if kind == 2:
            w, h = int(rng.integers(360, 600)), int(rng.integers(700, 1400))
            b = PageBuilder(w, h)
            self.receipt(rng, b)
        else:
            w = int(rng.integers(700, 1100))
            b = PageBuilder(w, int(w * rng.uniform(1.25, 1.45)))
            self.document(rng, b) if kind == 0 else self.form(rng, b)
        img, m = self.finish(rng, b)
        return img, b.annotation(m)

    # -- layouts --------------------------------------------------------------------------------
    def paragraph_lines(self, rng, font, width):
        """Words filled into lines no wider than ``width``."""
        lines, cur = [], ""
        for _ in range(int(rng.integers(8, 80))):
            tok = self.text.token(rng)
            cand = f"{cur} {tok}" if cur else tok
            if font.getlength(cand) > width and cur:
                lines.append(cur)
                cand = tok
            cur = cand
        return lines + [cur] if cur else lines

    def document(self, rng, b: PageBuilder):
        """Title, then 1-2 columns of paragraphs."""
        margin = int(b.w * rng.uniform(0.05, 0.1))
        size = b.w * rng.uniform(1 / 70, 1 / 38)
        body = self.font(rng, size, rng.choice(["serif", "sans", "serif", "mono"]))
        y = margin
        title = self.text._line(rng, int(rng.integers(1, 6)))
        y += b.add(title, self.font(rng, size * rng.uniform(1.4, 2.2), "bold"), margin, y,
                   max_width=b.w - 2 * margin) + size * 1.2
        b.end_row()
        ncol = 2 if rng.random() < 0.35 else 1
        gap = size * 2
        col_w = (b.w - 2 * margin - gap * (ncol - 1)) / ncol
        lead = size * rng.uniform(1.2, 1.7)
        top = y
        for c in range(ncol):
            x, y = margin + c * (col_w + gap), top
            while y < b.h - margin - lead:
                for line in self.paragraph_lines(rng, body, col_w):
                    if y > b.h - margin - lead:
                        break
                    b.add(line, body, x, y)
                    b.end_row()
                    y += lead
                y += lead * rng.uniform(0.3, 1.0)

    def form(self, rng, b: PageBuilder):
        """A heading and rows of ``Field: value`` pairs, sometimes two per row, with rules."""
        margin = int(b.w * rng.uniform(0.05, 0.1))
        size = b.w * rng.uniform(1 / 60, 1 / 35)
        key_f, val_f = self.font(rng, size, "bold"), self.font(rng, size)
        y = margin
        y += b.add(self.text._line(rng, int(rng.integers(1, 4))).upper(),
                   self.font(rng, size * 1.8, "bold"), b.w / 2, y, "center", b.w - 2 * margin) + size * 1.5
        b.end_row()
        two = rng.random() < 0.4
        half = (b.w - 2 * margin) / (2 if two else 1)
        while y < b.h - margin - size * 2:
            for c in range(2 if two else 1):
                x = margin + c * half
                if b.add(self.text.field(rng).split(" ")[0].rstrip(":") + ":", key_f, x, y):
                    vx = max(x + half * rng.uniform(0.3, 0.45), x + b.last_width + size)
                    b.add(self.text.token(rng) if rng.random() < 0.5 else self.text.short_line(rng),
                          val_f, vx, y, max_width=x + half - size - vx)
            b.end_row()
            if rng.random() < 0.5:
                b.rule(margin, y + size * 1.5, b.w - margin)
            y += size * rng.uniform(2.0, 3.0)

    def receipt(self, rng, b: PageBuilder):
        """Store header, date/time, item rows (name, qty, price), totals and a footer."""
        margin = int(b.w * rng.uniform(0.04, 0.08))
        size = b.w * rng.uniform(1 / 34, 1 / 22)
        f = self.font(rng, size, "mono" if rng.random() < 0.6 else None)
        lead = size * rng.uniform(1.25, 1.6)
        right, mid = b.w - margin, b.w * rng.uniform(0.55, 0.68)
        y = float(margin)
        big = self.font(rng, size * 1.4, "bold")
        for text, font in [(self.text._line(rng, int(rng.integers(1, 4))).upper(), big),
                           (f"{int(rng.integers(1, 999))} {self.text.word(rng)} {self.text.word(rng)}", f),
                           (self.text.phone(rng), f)]:
            b.add(text, font, b.w / 2, y, "center", b.w - 2 * margin)
            b.end_row()
            y += lead * (1.3 if font is big else 1)
        b.add(self.text.date(rng), f, margin, y)
        b.add(self.text.time(rng), f, right, y, "right")
        b.end_row()
        y += lead
        b.rule(margin, y, right, dashed=rng.random() < 0.5)
        y += lead * 0.5
        total = 0.0
        for _ in range(int(rng.integers(2, 16))):
            if y > b.h - margin - lead * 6:
                break
            qty, price = int(rng.integers(1, 6)), round(10 ** rng.uniform(-0.3, 2.3), 2)
            total += qty * price
            name = " ".join(self.text.word(rng, (0.2, 0.3, 0.5)) for _ in range(int(rng.integers(1, 3))))
            b.add(name, f, margin, y, max_width=mid - margin - f.getlength("000"))
            b.add(str(qty), f, mid, y, "right")
            b.add(f"{qty * price:.2f}", f, right, y, "right")
            b.end_row()
            y += lead
        b.rule(margin, y, right, dashed=rng.random() < 0.5)
        y += lead * 0.5
        for label, val in [("SUBTOTAL", total), ("TAX", total * 0.06), ("TOTAL", total * 1.06),
                           (["CASH", "VISA", "CHANGE"][int(rng.integers(3))], total * rng.uniform(1, 1.5))]:
            b.add(label if rng.random() < 0.7 else label.title(), f, margin, y)
            b.add(f"{val:,.2f}", f, right, y, "right")
            b.end_row()
            y += lead
        b.add(["THANK YOU", "Thank you, please come again", "THANK YOU FOR SHOPPING"][int(rng.integers(3))],
              f, b.w / 2, y + lead * 0.5, "center", b.w - 2 * margin)
        b.end_row()

    # -- rendering ------------------------------------------------------------------------------
    def finish(self, rng, b: PageBuilder):
        """Paper, ink, a slight scan warp and degradations; returns (image, homography)."""
        h, w = b.h, b.w
        paper = random_color(rng, rng.uniform(215, 252), rng.uniform(0, 25))
        tex = self.textures.crop(rng, h, w)[..., None] - 0.5
        img = paper + tex * rng.uniform(4, 25)
        ink = random_color(rng, rng.uniform(0, 70), rng.uniform(0, 40))
        if rng.random() < 0.15:
            ink = np.float32([20, 30, rng.uniform(90, 160)])  # blue ballpoint/stamp-like ink
        a = np.maximum(b.mask, b.graphics).astype(np.float32)[..., None] / 255
        a = a * rng.uniform(0.75, 1.0)
        img = img * (1 - a) + ink * a
        ang = np.radians(rng.normal(0, 1.0))
        c, s = np.cos(ang), np.sin(ang)
        rot = np.array([[c, -s, w / 2 - c * w / 2 + s * h / 2], [s, c, h / 2 - s * w / 2 - c * h / 2], [0, 0, 1]])
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = (src + rng.uniform(-0.015, 0.015, (4, 2)) * [w, h]).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst) @ rot
        border = tuple(float(v) for v in random_color(rng, rng.uniform(30, 200), 20))
        img = cv2.warpPerspective(img.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=border)
        img = effects.degrade(img, rng, strength=0.6)
        return np.clip(img, 0, 255).astype(np.uint8), m
