"""Synthetic text engine: recognition crops, detection scenes and document pages.

Library entry points: ``generate(kind, out, num, seed, workers)`` writes an LMDB store,
``save_grid(kind, path, seed)`` writes a contact sheet; ``CropGenerator`` makes single crops.
The command-line shim is ``tools/synth.py``.
"""
from .crops import CropGenerator, encode_jpeg
from .engine import KINDS, generate, make_generator, sample_rng, save_grid
from .fonts import FontPool, discover_fonts
from .text_source import TextSource, load_words

__all__ = ["CropGenerator", "encode_jpeg", "KINDS", "generate", "make_generator", "sample_rng",
           "save_grid", "FontPool", "discover_fonts", "TextSource", "load_words"]
