"""OCR toolkit: scene-text and document OCR on PyTorch."""

__version__ = "0.1.0"

__all__ = ["__version__"]
