"""Image degradations (OpenCV): blur, noise, JPEG artifacts, lighting, low resolution.

All functions take and return float32 RGB arrays in [0, 255] (``jpeg`` and ``lowres`` round-trip
through uint8) and draw their parameters from the given ``rng``. ``degrade`` is the chain of the
procedural crops; ``camera`` the stronger one of photo-background crops (a phone photo of a
scene: white balance and exposure, glare, lens defocus, small text upscaled, shot noise, JPEG).
"""
from __future__ import annotations

import functools

import cv2
import numpy as np


def gaussian_blur(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 1.3) -> np.ndarray:
    """Defocus-like blur."""
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, max_sigma))


def motion_blur(img: np.ndarray, rng: np.random.Generator, max_len: int = 7) -> np.ndarray:
    """Linear motion blur of random length and direction."""
    n = int(rng.integers(3, max_len + 1))
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1
    rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), rng.uniform(0, 180), 1)
    k = cv2.warpAffine(k, rot, (n, n))
    return cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))


def defocus(img: np.ndarray, rng: np.random.Generator, max_radius: float = 3.0) -> np.ndarray:
    """Out-of-focus lens blur: a disk (pillbox) kernel rather than a Gaussian."""
    r = rng.uniform(1.0, max_radius)
    n = 2 * int(np.ceil(r)) + 1
    k = np.zeros((n, n), np.float32)
    cv2.circle(k, (n // 2, n // 2), int(round(r)), 1.0, -1, cv2.LINE_AA)
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def noise(img: np.ndarray, rng: np.random.Generator, max_sigma: float = 14) -> np.ndarray:
    """Gaussian sensor noise (colour or luminance-only), sometimes salt-and-pepper."""
    h, w = img.shape[:2]
    c = 3 if rng.random() < 0.5 else 1
    out = img + rng.normal(0, rng.uniform(2, max_sigma), (h, w, c)).astype(np.float32)
    if rng.random() < 0.1:
        m = rng.random((h, w)) < rng.uniform(0.002, 0.02)
        out[m] = rng.choice([0.0, 255.0], size=(int(m.sum()), 1))
    return np.clip(out, 0, 255)


def shot_noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera sensor noise: signal-dependent (Poisson) shot noise plus read noise, with blotchy
    colour noise as a phone's demosaicing and denoising leave it."""
    h, w = img.shape[:2]
    gain = rng.uniform(0.5, 4.0)  # grey levels per photo-electron: higher = darker scene, more noise
    out = rng.poisson(np.clip(img, 0, 255) / gain).astype(np.float32) * gain
    chroma = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), rng.uniform(0.6, 1.5))
    return np.clip(out + chroma * rng.uniform(1, 6), 0, 255)


def jpeg(img: np.ndarray, rng: np.random.Generator, lo: int = 15, hi: int = 60) -> np.ndarray:
    """Blocky compression artifacts from a low-quality JPEG round trip."""
    q = int(rng.integers(lo, hi + 1))
    ok, buf = cv2.imencode(".jpg", np.clip(img, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float32).reshape(img.shape)


def lowres(img: np.ndarray, rng: np.random.Generator, lo: float = 0.35, hi: float = 0.8) -> np.ndarray:
    """Downscale then upscale back (a small, far-away or cheap-camera capture)."""
    h, w = img.shape[:2]
    f = rng.uniform(lo, hi)
    small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    interp = [cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST][int(rng.choice(3, p=[0.5, 0.4, 0.1]))]
    return cv2.resize(small, (w, h), interpolation=interp)


def lighting(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uneven illumination: a linear gradient, a radial vignette or a hard shadow edge."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    k = rng.integers(3)
    if k == 0:
        ang = rng.uniform(0, 2 * np.pi)
        t = (xx / max(w, 1)) * np.cos(ang) + (yy / max(h, 1)) * np.sin(ang)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        gain = rng.uniform(0.45, 0.9) + t * rng.uniform(0.1, 0.6)
    elif k == 1:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / max(h, w)
        gain = 1.15 - np.clip(r * rng.uniform(0.3, 1.0), 0, 0.6)
    else:  # shadow cast across the text
        ang = rng.uniform(0, 2 * np.pi)
        d = (xx - rng.uniform(0, w)) * np.cos(ang) + (yy - rng.uniform(0, h)) * np.sin(ang)
        soft = rng.uniform(1, max(2.0, h / 3))
        gain = 1 - rng.uniform(0.25, 0.6) / (1 + np.exp(np.clip(-d / soft, -30, 30)))
    return np.clip(img * gain[..., None] + rng.uniform(-15, 15), 0, 255)


def color_cast(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wrong white balance, exposure and tone curve: per-channel gains, gamma, and sometimes
    haze (contrast lifted toward a grey, as through glass or glare)."""
    gains = np.exp(rng.normal(0, 0.12, 3)).astype(np.float32)
    out = 255 * (np.clip(img * gains, 0, 255) / 255) ** rng.uniform(0.6, 1.6)
    if rng.random() < 0.3:
        k = rng.uniform(0.15, 0.5)
        out = out * (1 - k) + rng.uniform(120, 230) * k
    return np.clip(out, 0, 255).astype(np.float32)


def glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A soft specular highlight washing out part of the crop (light on glossy signs)."""
    h, w = img.shape[:2]
    spot = np.zeros((h, w), np.float32)
    axes = (int(rng.uniform(0.2, 0.8) * w) + 1, int(rng.uniform(0.3, 1.0) * h) + 1)
    cv2.ellipse(spot, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    spot = cv2.GaussianBlur(spot, (0, 0), max(axes) / 2 + 1)[..., None] * rng.uniform(0.3, 0.6)
    return img * (1 - spot) + 255 * spot


def degrade(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Apply a random subset of the degradations; ``strength`` scales their probabilities."""
    p = lambda x: rng.random() < x * strength  # noqa: E731
    if p(0.3):
        img = lighting(img, rng)
    if p(0.25):
        img = lowres(img, rng)
    if p(0.35):
        img = gaussian_blur(img, rng)
    elif p(0.12):
        img = motion_blur(img, rng)
    if p(0.4):
        img = noise(img, rng)
    if p(0.25):
        img = jpeg(img, rng)
    return img


def _blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lens defocus, a Gaussian blur or motion blur."""
    return (defocus, gaussian_blur, motion_blur)[int(rng.choice(3, p=[0.45, 0.35, 0.2]))](img, rng)


CAMERA = ((0.5, color_cast), (0.35, lighting), (0.1, glare), (0.75, _blur),
          (0.6, functools.partial(lowres, lo=0.2, hi=0.6)), (0.6, shot_noise),
          (0.6, functools.partial(jpeg, lo=10, hi=60)))


def camera(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The degradations of a phone photo of a scene (``CAMERA``: chance, step), in a camera's order."""
    for chance, step in CAMERA:
        if rng.random() < chance:
            img = step(img, rng)
    return img
