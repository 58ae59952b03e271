"""Font discovery and style classification for the synthetic text engine.

Fonts are found under the system font folders (``/usr/share/fonts``, TeX Gyre under
``/usr/share/texmf/fonts``) plus any folders in ``$OCR_FONT_DIRS`` (``:``-separated). A font is
kept only if it draws every printable ASCII character (so labels always match the ink). Styles are
guessed from the file name: ``serif``, ``sans``, ``mono``, ``condensed``, ``bold``, ``italic``,
``handwriting``, ``light``.
"""
from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

DEFAULT_DIRS = ("/usr/share/fonts", "/usr/share/texmf/fonts/opentype")
# Symbol, math, music and decorative fonts whose ASCII slots are not letters.
EXCLUDE = re.compile(r"symbol|dingbat|D050000L|math|music|emoji|ornament|icons|"
                     r"breipfont|LastResort", re.I)
HANDWRITING = re.compile(r"comic|Z003|chancery|tomson|dkg|breip|humor|dancing|femke|kristi|"
                         r"script|hand|caveat|kalam|pecita|chorus", re.I)
MONO = re.compile(r"mono|hack|inconsolata|courier|cursor|code|typewriter", re.I)
SERIF = re.compile(r"(?<!sans)serif|roman|C059|P052|bookman|caladea|termes|pagella|schola|"
                   r"bonum|times|georgia|garamond|tinos|gelasio", re.I)
CONDENSED = re.compile(r"condensed|cond|narrow|compressed|heroscn", re.I)
BOLD = re.compile(r"bold|black|heavy|demi|semibold|Bd", re.I)
ITALIC = re.compile(r"italic|oblique|It\b|BI\b|Ita\b", re.I)
LIGHT = re.compile(r"light|thin|hairline|extralight", re.I)
# Broad styles sampled with these weights, then a font within the style.
STYLE_WEIGHTS = {"sans": 0.34, "serif": 0.24, "mono": 0.12, "condensed": 0.12, "bold": 0.1,
                 "handwriting": 0.08}


@dataclass(frozen=True)
class FontInfo:
    """A usable font file and its style tags."""

    path: str
    tags: frozenset

    @property
    def name(self) -> str:
        return Path(self.path).stem


def classify(path: str) -> frozenset:
    """Style tags of a font guessed from its file name (always one of serif/sans/mono/handwriting)."""
    name = Path(path).stem
    tags = set()
    if HANDWRITING.search(name):
        tags.add("handwriting")
    elif MONO.search(name):
        tags.add("mono")
    elif SERIF.search(name):
        tags.add("serif")
    else:
        tags.add("sans")
    for tag, rx in (("condensed", CONDENSED), ("bold", BOLD), ("italic", ITALIC), ("light", LIGHT)):
        if rx.search(name.replace("Book", "")):
            tags.add(tag)
    return frozenset(tags)


def covers_ascii(path: str, size: int = 24) -> bool:
    """True if the font draws a distinct glyph for every printable non-space ASCII character."""
    try:
        font = ImageFont.truetype(path, size)
    except OSError:
        return False
    notdef = bytes(font.getmask("\uffff"))
    blank = 0
    for ch in string.digits + string.ascii_letters + string.punctuation:
        mask = font.getmask(ch)
        data = bytes(mask)
        if data == notdef or not any(data):
            blank += 1
    return blank == 0 and not caps_only(font)


def caps_only(font: ImageFont.FreeTypeFont) -> bool:
    """True for fonts whose lowercase letters are drawn as capitals (labels would lie)."""
    def height(ch):
        _, t, _, b = font.getbbox(ch, anchor="ls")
        return max(b - t, 1)
    return float(np.mean([height(c) / height(c.upper()) for c in "aenrsu"])) > 0.9


def _candidate_files(dirs) -> list[str]:
    found = set()
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for root, _, files in os.walk(d):
            for f in files:
                if f.lower().endswith((".ttf", ".otf")) and not EXCLUDE.search(f):
                    found.add(os.path.realpath(os.path.join(root, f)))
    return sorted(found)


@lru_cache(maxsize=8)
def discover_fonts(dirs: tuple | None = None) -> tuple[FontInfo, ...]:
    """Every usable font in ``dirs`` (default: system folders and ``$OCR_FONT_DIRS``), sorted by
    path so the list (and thus sampling) is the same on every run. Raises if none is found."""
    if dirs is None:
        extra = tuple(p for p in os.environ.get("OCR_FONT_DIRS", "").split(":") if p)
        dirs = DEFAULT_DIRS + extra
    fonts = tuple(FontInfo(p, classify(p)) for p in _candidate_files(dirs) if covers_ascii(p))
    if not fonts:
        raise RuntimeError(f"no usable fonts found under {', '.join(dirs)}; install e.g. "
                           "fonts-dejavu fonts-liberation2 (or set OCR_FONT_DIRS)")
    return fonts


class FontPool:
    """Samples fonts by broad style, and caches loaded ``ImageFont`` objects per (path, size)."""

    def __init__(self, fonts=None):
        self.fonts = tuple(fonts) if fonts is not None else discover_fonts()
        self.by_style = {s: [f for f in self.fonts if s in f.tags] for s in STYLE_WEIGHTS}
        self.styles = [s for s in STYLE_WEIGHTS if self.by_style[s]]
        w = np.array([STYLE_WEIGHTS[s] for s in self.styles])
        self.style_p = w / w.sum()

    def sample(self, rng: np.random.Generator, style: str | None = None) -> FontInfo:
        """A random font; ``style`` restricts it to one tag (falls back to any font)."""
        if style is None:
            style = self.styles[rng.choice(len(self.styles), p=self.style_p)]
        group = self.by_style.get(style) or self.fonts
        f = group[int(rng.integers(len(group)))]
        # Hairline/thin faces are rare in real text: resample most of them once.
        if "light" in f.tags and rng.random() < 0.6:
            f = group[int(rng.integers(len(group)))]
        return f

    @staticmethod
    def load(path: str, size: int) -> ImageFont.FreeTypeFont:
        """A loaded font (cached)."""
        return _load(path, int(size))


@lru_cache(maxsize=2048)
def _load(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)
