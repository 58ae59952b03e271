"""OCR toolkit: scene-text and document OCR on PyTorch.

    import ocr
    page = ocr.Reader().read("photo.jpg")
"""

from ocr.version import __version__

__all__ = ["__version__", "Reader", "load_model"]


def __getattr__(name):
    # Lazy: ``import ocr`` stays cheap; torch and the models load when the API is first touched.
    if name in ("Reader", "load_model"):
        from ocr import api

        return getattr(api, name)
    raise AttributeError(f"module 'ocr' has no attribute {name!r}")
