"""Text rendering into a coverage mask with per-character geometry (PIL ImageFont/ImageDraw).

``render_text`` draws a line of text word by word (keeping the font's kerning inside words), or
character by character when letter spacing or a curved baseline is asked for. It returns the mask
and, for every character, its advance box as a quad (top-left, top-right, bottom-right,
bottom-left) spanning the font's ascent..descent, so word/line polygons follow curved text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass
class TextRender:
    """A rendered line: ``mask`` (H, W) uint8 coverage, ``quads`` (n_chars, 4, 2) float32 boxes in
    mask pixels (spaces included), ``words`` [(first, last+1)] character ranges of each word."""

    text: str
    mask: np.ndarray
    quads: np.ndarray
    words: list

    def word_polygon(self, i: int, points_per_side: int = 2) -> np.ndarray:
        """Clockwise polygon of word ``i``: top edge left->right then bottom edge right->left."""
        a, b = self.words[i]
        return polygon_of(self.quads[a:b], points_per_side)

    def line_polygon(self, points_per_side: int = 2) -> np.ndarray:
        """Clockwise polygon of the whole line."""
        return polygon_of(self.quads, points_per_side)


def polygon_of(quads: np.ndarray, points_per_side: int = 2) -> np.ndarray:
    """A clockwise polygon around consecutive character quads, with ``points_per_side`` points
    on the top and on the bottom edge (2 gives a quadrilateral; more follow a curve)."""
    tops = np.concatenate([quads[:, 0], quads[-1:, 1]])   # left edges of each char + right end
    bots = np.concatenate([quads[:, 3], quads[-1:, 2]])
    n = len(tops)
    idx = np.linspace(0, n - 1, max(2, points_per_side)).round().astype(int)
    return np.concatenate([tops[idx], bots[idx][::-1]]).astype(np.float32)


def word_spans(text: str) -> list:
    """[(start, end)] index ranges of the space-separated words of ``text``."""
    spans, start = [], None
    for i, ch in enumerate(text + " "):
        if ch != " " and start is None:
            start = i
        elif ch == " " and start is not None:
            spans.append((start, i))
            start = None
    return spans


def _layout(text, font, spacing, word_gap):
    """Left x of each character and the total advance, on a straight baseline at x=0."""
    size = font.size
    space = font.getlength(" ") * word_gap
    xs, x = [], 0.0
    per_char = spacing != 0
    for a, b in word_spans(text):
        while len(xs) < a:                      # spaces before this word
            xs.append(x)
            x += space
        word = text[a:b]
        if per_char:
            for ch in word:
                xs.append(x)
                x += font.getlength(ch) + spacing * size
        else:                                   # kerned positions from prefix lengths
            for j in range(len(word)):
                xs.append(x + font.getlength(word[:j]) if j else x)
            x += font.getlength(word)
    return np.array(xs, np.float32), x


def render_text(text: str, font: ImageFont.FreeTypeFont, spacing: float = 0.0,
                word_gap: float = 1.0, curve=None, stroke: int = 0,
                rotate_chars: bool = False) -> TextRender:
    """Render ``text`` (single spaces, no leading/trailing space) with ``font``.

    spacing: extra letter spacing in units of the font size (per-character drawing);
    word_gap: space width multiplier; curve: ``f(x) -> dy`` baseline offset in pixels (x along
    the line from its left end), drawn per character; rotate_chars: tilt each character along the
    curve's tangent; stroke: PIL stroke width (a faux-bold)."""
    size = font.size
    ascent, descent = font.getmetrics()
    xs, total = _layout(text, font, spacing, word_gap)
    adv = np.append(xs[1:], total) - xs
    if spacing:
        adv = np.where(np.array([c != " " for c in text]), adv - spacing * size, adv)
    centers = xs + adv / 2
    dy = np.array([curve(c) for c in centers], np.float32) if curve else np.zeros(len(text), np.float32)
    ang = np.zeros(len(text), np.float32)
    if curve and rotate_chars:
        ang = np.array([np.arctan2(curve(c + 1) - curve(c - 1), 2) for c in centers], np.float32)
    pad = size // 2 + stroke + 2
    top, bot = float(dy.min()) if len(dy) else 0, float(dy.max()) if len(dy) else 0
    w = int(np.ceil(total)) + 2 * pad
    h = int(np.ceil(ascent + descent + bot - top)) + 2 * pad
    base = pad + ascent - top
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    if curve is None and spacing == 0:
        for a, b in word_spans(text):
            draw.text((pad + xs[a], base), text[a:b], font=font, fill=255, anchor="ls", stroke_width=stroke,
                      stroke_fill=255)
    else:
        for i, ch in enumerate(text):
            if ch == " ":
                continue
            if abs(ang[i]) > 0.05:
                _draw_rotated(img, ch, font, (pad + centers[i], base + dy[i]), ang[i], stroke)
            else:
                draw.text((pad + xs[i], base + dy[i]), ch, font=font, fill=255, anchor="ls",
                          stroke_width=stroke, stroke_fill=255)
    # boxes span the font's ascent..descent, widened to any ink that overhangs them
    _, t, _, b = font.getbbox(text, anchor="ls", stroke_width=stroke)
    left, right = xs.copy(), xs + adv
    for a, e in word_spans(text):
        left[a] = min(left[a], xs[a] + font.getbbox(text[a], anchor="ls", stroke_width=stroke)[0])
        right[e - 1] = max(right[e - 1], xs[e - 1] + font.getbbox(text[e - 1], anchor="ls", stroke_width=stroke)[2])
    quads = _char_quads(pad + left, right - left, base + dy, ang, max(ascent, -t) + 1, max(descent, b) + 1)
    return TextRender(text, np.asarray(img), quads, word_spans(text))


def _char_quads(x0, adv, yb, ang, ascent, descent) -> np.ndarray:
    """(n, 4, 2) advance boxes rotated by ``ang`` around each character's baseline centre."""
    cx = x0 + adv / 2
    local = np.stack([np.stack([-adv / 2, -np.full_like(adv, ascent)], -1),
                      np.stack([adv / 2, -np.full_like(adv, ascent)], -1),
                      np.stack([adv / 2, np.full_like(adv, descent)], -1),
                      np.stack([-adv / 2, np.full_like(adv, descent)], -1)], 1)
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x = local[..., 0] * c - local[..., 1] * s + cx[:, None]
    y = local[..., 0] * s + local[..., 1] * c + yb[:, None]
    return np.stack([x, y], -1).astype(np.float32)


def _draw_rotated(img, ch, font, origin, angle, stroke):
    """Draw ``ch`` tilted by ``angle`` (radians) with its baseline centre at ``origin``."""
    s = font.size * 2 + 2 * stroke
    tile = Image.new("L", (s, s), 0)
    ImageDraw.Draw(tile).text((s / 2, s / 2), ch, font=font, fill=255, anchor="ms",
                              stroke_width=stroke, stroke_fill=255)
    tile = tile.rotate(-np.degrees(angle), resample=Image.BILINEAR, center=(s / 2, s / 2))
    ox, oy = int(round(origin[0] - s / 2)), int(round(origin[1] - s / 2))
    region = (ox, oy, ox + s, oy + s)
    img.paste(Image.fromarray(np.maximum(np.asarray(img.crop(region)), np.asarray(tile))), region[:2])
