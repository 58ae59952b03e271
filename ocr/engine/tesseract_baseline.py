"""Tesseract as a baseline reader for the page evaluation (``tools/eval_read.py --engine
tesseract``): the same pages, the same scoring, the ``tesseract`` command-line program
(``apt-get install tesseract-ocr``) reading each encoded image from stdin."""
from __future__ import annotations

import os
import shutil
import subprocess
from types import SimpleNamespace


class TesseractReader:
    """``read(data, name)`` -> an object with ``.text``, like ``ocr.api.Reader`` pages."""

    def __init__(self, lang: str = "eng", psm: int = 3, binary: str = "tesseract", threads: int = 1):
        self.binary = shutil.which(binary)
        if self.binary is None:
            raise FileNotFoundError(f"{binary}: not found on PATH (install it: apt-get install tesseract-ocr)")
        self.args = ["-l", lang, "--psm", str(psm)]
        self.env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}

    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, check=True)
        return (out.stdout or out.stderr).splitlines()[0]

    def read(self, data: bytes, name: str = "image") -> SimpleNamespace:
        proc = subprocess.run([self.binary, "stdin", "stdout", *self.args], input=data,
                              capture_output=True, env=self.env)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"{name}: tesseract failed: {err[-1] if err else proc.returncode}")
        return SimpleNamespace(text=proc.stdout.decode("utf-8", errors="replace"))
