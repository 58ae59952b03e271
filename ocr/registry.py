"""Model registry: small factory functions registered by name (timm-style).

A factory takes keyword overrides and returns an ``nn.Module``. Backbones have their own
registry (``ocr.models.backbones``) so that a model config can name one by string.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

_MODELS: dict[str, "ModelEntry"] = {}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str  # "recognition" | "detection" | "fullpage"
    factory: Callable
    doc: str


def register_model(task: str) -> Callable:
    """Decorator: ``@register_model("recognition") def crnn_vgg(**kw): ...``."""

    def wrap(fn: Callable) -> Callable:
        if fn.__name__ in _MODELS:
            raise ValueError(f"model {fn.__name__!r} is already registered")
        _MODELS[fn.__name__] = ModelEntry(fn.__name__, task, fn, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return wrap


def _import_model_modules() -> None:
    """Importing the families registers their factories."""
    import importlib

    from ocr.models import FAMILIES

    for name in FAMILIES:
        importlib.import_module(name)


def create_model(name: str, **kwargs):
    """Build a registered model by name; ``kwargs`` override its config fields."""
    _import_model_modules()
    if name not in _MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(sorted(_MODELS)) or 'none'}")
    model = _MODELS[name].factory(**kwargs)
    model.arch = name  # checkpoints record it, so that loading rebuilds the same model
    return model


def list_models(task: str | None = None) -> list[ModelEntry]:
    """Registered models, optionally only those of one task, sorted by name."""
    _import_model_modules()
    return [e for _, e in sorted(_MODELS.items()) if task is None or e.task == task]
