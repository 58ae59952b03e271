"""Backgrounds for synthetic text: flat colours, gradients, noise and procedural textures.

There are no photos in the repo, so textures are procedural: multi-octave value noise (paper,
stone, cloth), stripes and grids, scattered shapes and scratches. A ``TexturePool`` makes a fixed
set from the run seed once per process, so every worker sees the same pool and samples stay
deterministic per (seed, index).
"""
from __future__ import annotations

import cv2
import numpy as np


def value_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 4, base: int = 4,
                persistence: float = 0.55) -> np.ndarray:
    """Smooth fractal noise in [0, 1] (sum of bicubically upsampled random grids)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        gh, gw = max(2, base * 2 ** o * h // max(h, w)), max(2, base * 2 ** o * w // max(h, w))
        grid = rng.random((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
    out /= total
    return cv2.normalize(out, None, 0, 1, cv2.NORM_MINMAX)


def _stripes(rng, h, w) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    period = rng.uniform(4, 40)
    t = (xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period
    s = 0.5 + 0.5 * np.sin(t)
    if rng.random() < 0.5:  # grid / woven
        t2 = (-xx * np.sin(ang) + yy * np.cos(ang)) * 2 * np.pi / rng.uniform(4, 40)
        s = 0.5 * s + 0.25 + 0.25 * np.sin(t2)
    return (0.6 * s + 0.4 * value_noise(rng, h, w, 3)).astype(np.float32)


def _shapes(rng, h, w) -> np.ndarray:
    img = np.full((h, w), rng.uniform(0.3, 0.7), np.float32)
    for _ in range(int(rng.integers(5, 30))):
        c = float(rng.random())
        x, y = int(rng.integers(w)), int(rng.integers(h))
        k = rng.integers(3)
        if k == 0:
            cv2.circle(img, (x, y), int(rng.integers(5, h // 2)), c, -1, cv2.LINE_AA)
        elif k == 1:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(10, w // 2)), y + int(rng.integers(10, h // 2))), c, -1)
        else:
            cv2.line(img, (x, y), (int(rng.integers(w)), int(rng.integers(h))), c, int(rng.integers(1, 6)), cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 6))


def _grain(rng, h, w) -> np.ndarray:
    n = rng.random((h, w)).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.5:  # fibres / brushed metal: directional blur
        k = np.zeros((1, 15), np.float32)
        k[0, :] = 1 / 15
        n = cv2.filter2D(n, -1, k)
    return 0.5 * cv2.normalize(n, None, 0, 1, cv2.NORM_MINMAX) + 0.5 * value_noise(rng, h, w, 5)


class TexturePool:
    """A fixed set of grayscale textures in [0, 1], generated from ``seed``."""

    def __init__(self, seed: int = 0, n: int = 24, h: int = 256, w: int = 512):
        rng = np.random.default_rng([int(seed), 7919])
        makers = [lambda: value_noise(rng, h, w, int(rng.integers(3, 7)), int(rng.integers(2, 8))),
                  lambda: _stripes(rng, h, w), lambda: _shapes(rng, h, w), lambda: _grain(rng, h, w)]
        self.textures = [makers[i % len(makers)]() for i in range(n)]

    def crop(self, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
        """A random (h, w) piece of a random texture, rescaled/tiled as needed."""
        t = self.textures[int(rng.integers(len(self.textures)))]
        th, tw = t.shape
        scale = max(h / th, w / tw, rng.uniform(0.3, 1.5))
        if scale != 1:
            t = cv2.resize(t, (max(w, int(tw * scale) + 1), max(h, int(th * scale) + 1)))
        y = int(rng.integers(t.shape[0] - h + 1))
        x = int(rng.integers(t.shape[1] - w + 1))
        return t[y:y + h, x:x + w]


def random_color(rng: np.random.Generator, lum: float, sat: float = 60) -> np.ndarray:
    """An RGB colour with luminance near ``lum`` and a random tint of up to ``sat`` levels."""
    tint = rng.uniform(-sat, sat, 3)
    tint -= tint.mean()
    return np.clip(lum + tint, 0, 255).astype(np.float32)


def make_background(rng: np.random.Generator, h: int, w: int, pool: TexturePool,
                    lum: float | None = None) -> np.ndarray:
    """An (h, w, 3) float32 RGB background around luminance ``lum`` (random if None)."""
    if lum is None:
        lum = rng.uniform(150, 255) if rng.random() < 0.7 else rng.uniform(0, 110)
    c1 = random_color(rng, lum, rng.uniform(0, 80))
    kind = rng.choice(4, p=[0.3, 0.25, 0.12, 0.33])
    if kind == 0:
        return np.broadcast_to(c1, (h, w, 3)).astype(np.float32)
    if kind == 1:
        c2 = random_color(rng, np.clip(lum + rng.uniform(-50, 50), 0, 255), rng.uniform(0, 80))
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * np.cos(ang) / max(w, 1) + yy * np.sin(ang) / max(h, 1)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        return c1 * (1 - t[..., None]) + c2 * t[..., None]
    if kind == 2:
        t = rng.normal(0, 1, (h, w, 1)).astype(np.float32) * rng.uniform(4, 20)
        return np.clip(c1 + t, 0, 255)
    t = pool.crop(rng, h, w)[..., None] - 0.5
    c2 = random_color(rng, lum, rng.uniform(0, 80))
    amp = rng.uniform(20, 70)
    return np.clip(c1 + (c2 - c1) * 0.5 + t * amp, 0, 255)


def contrasting_lum(rng: np.random.Generator, bg: np.ndarray, min_gap: float = 80) -> float:
    """A text luminance at least ``min_gap`` away from the background's mean luminance."""
    lum = float(bg.mean())
    lo, hi = lum - min_gap, lum + min_gap
    choices = []
    if lo > 0:
        choices.append((0.0, lo))
    if hi < 255:
        choices.append((hi, 255.0))
    if not choices:
        return 0.0 if lum > 127 else 255.0
    # prefer the side with more room
    a, b = max(choices, key=lambda c: c[1] - c[0]) if rng.random() < 0.8 else choices[int(rng.integers(len(choices)))]
    return float(rng.uniform(a, b))
