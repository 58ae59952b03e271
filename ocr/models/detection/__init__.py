"""Text detection models. ``ocr.registry`` imports ``fcenet`` so that its factories register;
importing this package alone loads nothing heavy (``fce_postprocess`` runs without PyTorch)."""

_EXPORTS = {"FCELoss": "fce_loss", "FCEPostprocessor": "fce_postprocess", "FCEHead": "fcenet", "FCENet": "fcenet",
            "FCENetConfig": "fcenet", "fcenet_mobilenetv3": "fcenet", "fcenet_resnet18": "fcenet",
            "fcenet_resnet50": "fcenet"}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
