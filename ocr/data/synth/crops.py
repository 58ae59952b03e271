"""Word and line crops for recognition training.

``CropGenerator.make(rng)`` returns one (RGB uint8 image, label) pair: random text in a random
font, optional letter spacing and curved baseline, a perspective/rotation/shear warp, a tight
crop with random (sometimes slightly negative) margins, a background with contrasting text
colour, then degradations, resized to a height in ``[min_h, max_h]``. With a photo-background pool
(``photo_bg``, see photo_backgrounds.py) a share ``photo_p`` of the crops is drawn on a real photo
patch instead, text coloured against the patch under it, and degraded as a phone photo.

``CropGeometry`` sets how far text is bent and turned: ``GEOMETRIES["plain"]`` gives mostly
straight, near-horizontal words; ``GEOMETRIES["scene"]`` gives the curved, tilted and foreshortened
words of scene photos (circular logos, signs seen at an angle, the axis-aligned box of a rotated
word).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import effects
from .backgrounds import TexturePool, contrasting_lum, make_background, random_color
from .fonts import FontPool
from .photo_backgrounds import PhotoPool
from .render import render_text
from .text_source import TextSource


@dataclass(frozen=True)
class CropGeometry:
    """How much a crop's text is bent (``curve_*``, amplitudes in font sizes) and warped (the
    chance ``warp_p`` of a rotation up to ``rot_deg`` degrees plus corner jitter ``persp``)."""
    curve_p: float = 0.15
    curve_amp: tuple[float, float] = (0.05, 0.25)
    curve_slope: float = np.inf  # steepest baseline allowed (dy/dx)
    rotate_chars: bool = False  # tilt glyphs along the curve
    warp_p: float = 0.7
    rot_deg: float = 4.0
    persp: float = 0.12


GEOMETRIES = {
    "plain": CropGeometry(),
    "scene": CropGeometry(curve_p=0.5, curve_amp=(0.2, 1.2), curve_slope=0.8, rotate_chars=True, warp_p=0.9,
                          rot_deg=35.0, persp=0.35),
    # the fixed validation sets' geometries: always bent (no warp), or always warped (no bend)
    "curved": CropGeometry(curve_p=1.0, curve_amp=(0.3, 1.2), curve_slope=0.8, rotate_chars=True, warp_p=0.0),
    "perspective": CropGeometry(curve_p=0.0, warp_p=1.0, rot_deg=25.0, persp=0.45),
}
PHOTO_P = 0.8  # share of photo-background crops when a pool is given


def random_curve(rng: np.random.Generator, width: float, amp: float, max_slope: float = np.inf):
    """A baseline offset function: a sine of random period/phase, or a parabolic arc; ``amp`` is
    lowered where the baseline would get steeper than ``max_slope``."""
    if rng.random() < 0.5:
        period = width * rng.uniform(0.7, 2.5)
        phase = rng.uniform(0, 2 * np.pi)
        amp = min(amp, max_slope * period / (2 * np.pi))
        return lambda x: amp * np.sin(2 * np.pi * x / period + phase)
    amp = min(amp, max_slope * max(width, 1) / 4)
    return lambda x: amp * (2 * x / max(width, 1) - 1) ** 2 - amp / 2


def warp_matrix(rng: np.random.Generator, w: int, h: int, text_h: float, rot_deg: float = 4,
                shear: float = 0.25, persp: float = 0.12) -> np.ndarray:
    """3x3 homography: rotation + horizontal shear about the centre, plus corner jitter scaled
    by the text height (so long lines are not squashed)."""
    cx, cy = w / 2, h / 2
    a = np.radians(np.clip(rng.normal(0, rot_deg / 2), -rot_deg, rot_deg))
    sh = rng.uniform(-shear, shear) if rng.random() < 0.3 else 0.0
    t1 = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], np.float64)
    r = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    s = np.array([[1, sh, 0], [0, 1, 0], [0, 0, 1]], np.float64)
    m = np.linalg.inv(t1) @ r @ s @ t1
    if rng.random() < 0.5:
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src + rng.uniform(-persp, persp, (4, 2)).astype(np.float32) * text_h
        m = cv2.getPerspectiveTransform(src, dst) @ m
    return m


def warp_mask(mask: np.ndarray, m: np.ndarray, pts: np.ndarray):
    """Warp ``mask`` by homography ``m`` onto a canvas that holds all of it; returns the warped
    mask and the warped points ``pts`` (N, 2)."""
    h, w = mask.shape
    corners = cv2.perspectiveTransform(np.float32([[[0, 0], [w, 0], [w, h], [0, h]]]), m)[0]
    x0, y0 = np.floor(corners.min(0))
    x1, y1 = np.ceil(corners.max(0))
    t = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ m
    out = cv2.warpPerspective(mask, t, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR)
    wp = cv2.perspectiveTransform(pts.reshape(1, -1, 2).astype(np.float32), t)[0]
    return out, wp


class CropGenerator:
    """Recognition crop maker; build once per process, call ``make(rng)`` per sample."""

    def __init__(self, seed: int = 0, fonts: FontPool | None = None, text: TextSource | None = None,
                 textures: TexturePool | None = None, min_h: int = 32, max_h: int = 64,
                 geometry: str = "plain", photo_bg: str | None = None, photo_p: float = PHOTO_P):
        if geometry not in GEOMETRIES:
            raise ValueError(f"unknown crop geometry {geometry!r}; expected one of {', '.join(GEOMETRIES)}")
        self.geometry = GEOMETRIES[geometry]
        self.fonts = fonts or FontPool()
        self.text = text or TextSource()
        self.textures = textures or TexturePool(seed)
        self.min_h, self.max_h = min_h, max_h
        self.photos = PhotoPool(photo_bg) if photo_bg else None
        self.photo_p = photo_p

    def render(self, rng: np.random.Generator, text: str):
        """Coverage mask of ``text`` after curve/spacing/warp and the text-box corner points."""
        info = self.fonts.sample(rng)
        size = int(rng.integers(22, 56))
        font = self.fonts.load(info.path, size)
        spacing = rng.uniform(-0.04, 0.25) if rng.random() < 0.2 else 0.0
        g = self.geometry
        curve = None
        if rng.random() < g.curve_p and len(text) > 2:
            width = font.getlength(text) * (1 + spacing)
            amp = size * rng.uniform(*g.curve_amp) * min(1.0, 12 / len(text)) ** 0.5
            curve = random_curve(rng, width, amp, g.curve_slope)
        stroke = 1 if rng.random() < 0.06 and size > 30 else 0
        word_gap = rng.uniform(1.0, 2.5) if rng.random() < 0.15 else 1.0
        r = render_text(text, font, spacing=spacing, word_gap=word_gap, curve=curve, stroke=stroke,
                        rotate_chars=g.rotate_chars)
        box = r.line_polygon(2)
        mask = r.mask
        if rng.random() < g.warp_p:
            rot = max(4.0, g.rot_deg * min(1.0, 10 / len(text)))  # a turned long line would be unreadably small
            m = warp_matrix(rng, mask.shape[1], mask.shape[0], size, rot_deg=rot, persp=g.persp)
            mask, box = warp_mask(mask, m, box)
        return mask, box, size

    def tight_box(self, rng, mask, box, size):
        """Crop rectangle (x0, y0, x1, y1) around the ink with random margins; may clip a little."""
        ys = np.flatnonzero(mask.max(1) > 60)
        xs = np.flatnonzero(mask.max(0) > 60)
        ix0, ix1, iy0, iy1 = xs[0], xs[-1] + 1, ys[0], ys[-1] + 1
        # vertical extent between the ink box and the font's ascent..descent box
        u = rng.uniform(0, 1, 2)
        by0, by1 = box[:, 1].min(), box[:, 1].max()
        y0 = iy0 + u[0] * min(0.0, by0 - iy0)
        y1 = iy1 + u[1] * max(0.0, by1 - iy1)
        th = max(y1 - y0, 4.0)
        y0 -= th * rng.uniform(-0.06, 0.25)
        y1 += th * rng.uniform(-0.06, 0.25)
        x0 = ix0 - th * rng.uniform(-0.03, 0.45)
        x1 = ix1 + th * rng.uniform(-0.03, 0.45)
        return int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))

    def make(self, rng: np.random.Generator, text: str | None = None):
        """One (H, W, 3) uint8 RGB crop and its label."""
        photo = self.photos is not None and rng.random() < self.photo_p
        text = text or (self.scene_text(rng) if photo else self.text.sample(rng))
        mask, box, size = self.render(rng, text)
        if not mask.any():  # font without visible glyphs for this text: fall back to plain text
            return self.make(rng, text) if rng.random() < 0.9 else self.make(rng, "0")
        x0, y0, x1, y1 = self.tight_box(rng, mask, box, size)
        alpha = _crop_padded(mask, x0, y0, x1, y1).astype(np.float32) / 255.0
        h, w = alpha.shape
        if photo:
            img = effects.camera(self.compose_photo(rng, alpha, h, w), rng)
        else:
            img = effects.degrade(self.compose(rng, alpha, h, w), rng)
        out_h = int(rng.integers(self.min_h, self.max_h + 1))
        out_w = max(8, int(round(w * out_h / h * rng.uniform(0.85, 1.15))))
        interp = cv2.INTER_AREA if out_h < h else cv2.INTER_LINEAR
        img = cv2.resize(img, (out_w, out_h), interpolation=interp)
        return np.clip(img, 0, 255).astype(np.uint8), text

    def scene_text(self, rng) -> str:
        """A label as signs and shop fronts show them: mostly one word or number, often in capitals."""
        if rng.random() < 0.75:
            return " ".join(self.text.token(rng).split()) or "0"
        return self.text.short_line(rng)

    def compose(self, rng, alpha, h, w):
        """Background plus coloured text (with an occasional drop shadow)."""
        inverted = rng.random() < 0.2
        bg = make_background(rng, h, w, self.textures,
                             lum=rng.uniform(0, 100) if inverted else rng.uniform(130, 255))
        color = random_color(rng, contrasting_lum(rng, bg, 95), rng.uniform(0, 80))
        return self.paint(rng, bg, alpha, color)

    def paint(self, rng, bg, alpha, color):
        """``color`` text of coverage ``alpha`` over ``bg`` (an occasional drop shadow, uneven ink)."""
        h, w = alpha.shape
        a = alpha[..., None]
        if rng.random() < 0.08:  # drop shadow / embossing
            dx, dy = rng.integers(-2, 3, 2)
            sh = np.roll(alpha, (int(dy), int(dx)), (0, 1))
            sh = cv2.GaussianBlur(sh, (0, 0), rng.uniform(0.5, 2))[..., None]
            bg = bg * (1 - sh * 0.6) + (255 - color) * sh * 0.6 if rng.random() < 0.3 else bg * (1 - sh * 0.6)
        if rng.random() < 0.15:  # uneven ink
            a = a * (1 - self.textures.crop(rng, h, w)[..., None] * rng.uniform(0.1, 0.35))
        return bg * (1 - a) + color * a

    def compose_photo(self, rng, alpha, h, w):
        """Text on a real photo patch: the patch as it is (texture contrast sometimes lowered, or
        out of focus), or a painted sign, a flat colour lit by the patch's light and texture. The
        text colour contrasts with the patch under the text, sometimes only weakly."""
        bg = self.photos.crop(rng, h, w)
        mean = bg.mean((0, 1))
        if rng.random() < 0.45:  # a painted plate: flat colour times the patch's relative light
            light = bg.mean(2, keepdims=True) / max(float(mean.mean()), 8.0)
            k = rng.uniform(0.2, 0.8)
            bg = random_color(rng, rng.uniform(0, 255), rng.uniform(0, 80)) * (1 + (light - 1) * k)
        elif rng.random() < 0.65:
            bg = mean + (bg - mean) * rng.uniform(0.25, 0.8)
        if rng.random() < 0.25:
            bg = cv2.GaussianBlur(bg, (0, 0), rng.uniform(1, 4))
        bg = np.clip(bg, 0, 255)
        under = bg[alpha > 0.5].mean(1) if (alpha > 0.5).any() else bg.mean(2).ravel()
        lo, hi = np.percentile(under, [5, 95])
        if max(lo, 255 - hi) < 70:  # busy patch: calm its texture so the text stays readable
            m = float(under.mean())
            bg, lo, hi = m + (bg - m) * 0.35, m + (lo - m) * 0.35, m + (hi - m) * 0.35
        gap = rng.uniform(25, 50) if rng.random() < 0.15 else rng.uniform(60, 120)  # sometimes faint
        rooms = (lo, 255 - hi)  # below and above the patch's tones
        dark = rooms[0] > rooms[1] if rng.random() < 0.85 or min(rooms) < 60 else rng.random() < 0.5
        lum = np.clip(lo - gap, 0, 255) if dark else np.clip(hi + gap, 0, 255)
        return self.paint(rng, bg, alpha, random_color(rng, lum, rng.uniform(0, 100)))


def _crop_padded(mask, x0, y0, x1, y1):
    """mask[y0:y1, x0:x1] with zeros outside the mask."""
    h, w = mask.shape
    out = np.zeros((y1 - y0, x1 - x0), mask.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = mask[sy0:sy1, sx0:sx1]
    return out


def encode_jpeg(img_rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB uint8 image."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
