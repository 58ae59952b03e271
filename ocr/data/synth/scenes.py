"""Scene images for text detection, with exact word and line polygons.

A scene is a procedural background (textures, gradients, shapes, "sign" plates) with 1-15 text
items: single words or short lines, straight, rotated or curved, at scales from small to large,
under a perspective warp. Polygons come from the rendering itself: each character's box is mapped
through the same homography as its ink, so curved text gets 14-20 point polygons that follow it
(top edge left->right, then bottom edge right->left: clockwise in image coordinates).
"""
from __future__ import annotations

import cv2
import numpy as np

from . import effects
from .backgrounds import TexturePool, contrasting_lum, make_background, random_color
from .crops import random_curve
from .fonts import FontPool
from .render import render_text
from .text_source import TextSource

SIZES = [(640, 640), (1280, 720), (720, 1280), (960, 720), (800, 600), (1024, 768), (720, 960)]


def placement_matrix(rng, w, h, cx, cy, angle_deg, persp, size):
    """Homography taking a (w, h) render to centre (cx, cy), rotated and perspective-jittered."""
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    rel = src - [w / 2, h / 2]
    dst = np.stack([rel[:, 0] * c - rel[:, 1] * s + cx, rel[:, 0] * s + rel[:, 1] * c + cy], 1)
    dst += rng.uniform(-persp, persp, (4, 2)) * size
    return cv2.getPerspectiveTransform(src, dst.astype(np.float32))


def to_image(pts: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply homography ``m`` to points (N, 2)."""
    return cv2.perspectiveTransform(np.asarray(pts, np.float32).reshape(1, -1, 2), m)[0]


def _poly_list(p: np.ndarray) -> list:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in p]


class SceneGenerator:
    """Detection scene maker; ``make(rng)`` returns (RGB uint8 image, annotation dict)."""

    def __init__(self, seed: int = 0, fonts: FontPool | None = None, text: TextSource | None = None,
                 textures: TexturePool | None = None, max_items: int = 15):
        self.fonts = fonts or FontPool()
        self.text = text or TextSource(max_len=40)
        self.textures = textures or TexturePool(seed)
        self.max_items = max_items

    def background(self, rng, h, w) -> np.ndarray:
        """Procedural scene: a base background with blended texture patches and shapes."""
        img = make_background(rng, h, w, self.textures, lum=rng.uniform(20, 235))
        for _ in range(int(rng.integers(0, 6))):
            pw, ph = int(rng.integers(w // 8, w)), int(rng.integers(h // 8, h))
            x, y = int(rng.integers(0, w - pw + 1)), int(rng.integers(0, h - ph + 1))
            patch = make_background(rng, ph, pw, self.textures, lum=rng.uniform(0, 255))
            if rng.random() < 0.5:  # soft-edged blob instead of a rectangle
                m = np.zeros((ph, pw), np.float32)
                cv2.ellipse(m, (pw // 2, ph // 2), (pw // 2, ph // 2), 0, 0, 360, 1.0, -1)
                m = cv2.GaussianBlur(m, (0, 0), max(1.0, min(pw, ph) / 10))[..., None]
            else:
                m = np.float32(rng.uniform(0.5, 1.0))
            img[y:y + ph, x:x + pw] = img[y:y + ph, x:x + pw] * (1 - m) + patch * m
        return img

    def item_text(self, rng) -> str:
        r = rng.random()
        if r < 0.45:
            return self.text.word(rng) if rng.random() < 0.7 else self.text.sample(rng).split(" ")[0]
        if r < 0.85:
            return self.text.short_line(rng)
        return self.text.sample(rng)

    def render_item(self, rng, img_h):
        """Render one text item: mask, word polygons, line polygon, words, font size."""
        text = self.item_text(rng)
        size = int(np.clip(img_h * np.exp(rng.uniform(np.log(0.02), np.log(0.14))), 10, 120))
        font = self.fonts.load(self.fonts.sample(rng).path, size)
        curved = rng.random() < 0.25 and len(text) > 3
        curve = None
        if curved:
            width = font.getlength(text)
            curve = random_curve(rng, width, width * rng.uniform(0.05, 0.25))
        spacing = rng.uniform(0, 0.2) if rng.random() < 0.15 else 0.0
        stroke = int(rng.integers(1, 3)) if rng.random() < 0.08 and size > 24 else 0
        r = render_text(text, font, spacing=spacing, curve=curve, stroke=stroke, rotate_chars=curved)
        return r, size, curved

    def place(self, rng, r, size, curved, w, h, occupied):
        """Try a few positions; returns (homography, warped mask) or None if nothing fits."""
        mh, mw = r.mask.shape
        for _ in range(8):
            angle = rng.normal(0, 8) if rng.random() < 0.6 else rng.uniform(-60, 60)
            if rng.random() < 0.05:
                angle = rng.choice([-90, 90]) + rng.normal(0, 3)
            m = placement_matrix(rng, mw, mh, rng.uniform(0, w), rng.uniform(0, h), angle,
                                 rng.uniform(0, 0.4), size)
            poly = to_image(r.line_polygon(2 if not curved else 10), m)
            if poly.min() < 1 or poly[:, 0].max() > w - 2 or poly[:, 1].max() > h - 2:
                continue
            region = np.zeros((h, w), np.uint8)
            cv2.fillPoly(region, [np.round(poly).astype(np.int32)], 1)
            if (region & occupied).any():
                continue
            occupied |= cv2.dilate(region, np.ones((5, 5), np.uint8))
            return m, region
        return None

    def make(self, rng: np.random.Generator):
        """One scene image and its annotation (``width``, ``height``, ``words``, ``lines``)."""
        w, h = SIZES[int(rng.integers(len(SIZES)))]
        img = self.background(rng, h, w)
        occupied = np.zeros((h, w), np.uint8)
        words, lines = [], []
        for _ in range(int(rng.integers(1, self.max_items + 1))):
            r, size, curved = self.render_item(rng, min(w, h) * 1.3)
            placed = self.place(rng, r, size, curved, w, h, occupied)
            if placed is None:
                continue
            m, region = placed
            img = self.paint(rng, img, r, m, region)
            npts = int(rng.integers(7, 11)) if curved else 2
            first = len(words)
            for i, (a, b) in enumerate(r.words):
                poly = to_image(r.word_polygon(i, npts), m)
                small = np.linalg.norm(poly[0] - poly[-1]) < 6  # too small to read: don't care
                words.append({"polygon": _poly_list(poly), "text": r.text[a:b], "ignore": bool(small)})
            lines.append({"polygon": _poly_list(to_image(r.line_polygon(npts), m)), "text": r.text,
                          "ignore": all(wd["ignore"] for wd in words[first:]),
                          "words": list(range(first, len(words)))})
        img = effects.degrade(img, rng, strength=0.7)
        ann = {"width": w, "height": h, "words": words, "lines": lines}
        return np.clip(img, 0, 255).astype(np.uint8), ann

    def paint(self, rng, img, r, m, region):
        """Composite the warped text (optionally on a plate, with a shadow) onto ``img``."""
        h, w = img.shape[:2]
        alpha = cv2.warpPerspective(r.mask, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
        ys, xs = np.nonzero(region)
        under = img[ys, xs]
        busy = float(under.mean(1).std()) > 40  # text over a busy/mixed area: put it on a plate
        if busy or rng.random() < 0.2:  # a sign plate behind the text
            plate = cv2.dilate(region, np.ones((9, 9), np.uint8)).astype(np.float32)[..., None]
            pc = random_color(rng, rng.uniform(0, 255), rng.uniform(0, 120))
            img = img * (1 - plate) + pc * plate
            under = img[ys, xs]
        color = random_color(rng, contrasting_lum(rng, under, 90), rng.uniform(0, 110))
        a = alpha[..., None]
        if rng.random() < 0.15:
            d = int(rng.integers(1, 4))
            sh = np.roll(a, (d, d), (0, 1))
            img = img * (1 - sh * 0.7)
        return img * (1 - a) + color * a
