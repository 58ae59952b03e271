"""Limits and defaults of ``ocr serve``."""
from __future__ import annotations

from dataclasses import dataclass

from ocr.pipeline.defaults import DET_SIZE


@dataclass(frozen=True)
class ServeSettings:
    det: str | None = None  # default detector (None: the shipped default)
    rec: str | None = None  # default recognizer
    device: str = "auto"
    backend: str = "auto"  # how the models run (ocr.runtime); auto: ONNX Runtime on CPU
    precision: str = "auto"
    det_size: int = DET_SIZE
    max_upload_mb: float = 20.0  # request body -> 413
    max_pixels: int = 40_000_000  # width x height of one image -> 413
    max_pages: int = 16  # files (pages) in one request -> 413
    max_det_size: int = 2560  # largest det_size a request may ask -> 422
    concurrency: int = 1  # requests read at the same time
    queue: int = 16  # requests waiting for a slot; more -> 429
    timeout_s: float = 60.0  # waiting + reading -> 408

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
