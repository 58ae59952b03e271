"""Registries of small factory functions by name (timm-style): one implementation, two instances.

``MODELS`` holds whole models (a task each: recognition, detection, fullpage); ``BACKBONES`` holds
the feature extractors a model config names by string. A factory takes keyword overrides of its
config and returns an ``nn.Module``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

TASKS = ("recognition", "detection", "fullpage")


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    factory: Callable
    doc: str


class Registry:
    """Name -> factory, with a task per entry. ``loader`` imports the modules that register."""

    def __init__(self, kind: str, loader: Callable[[], None] | None = None):
        self.kind, self._loader, self._entries = kind, loader, {}

    def register(self, fn: Callable, task: str) -> Callable:
        if fn.__name__ in self._entries:
            raise ValueError(f"{self.kind} {fn.__name__!r} is already registered")
        self._entries[fn.__name__] = Entry(fn.__name__, task, fn, (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    def _all(self) -> dict[str, Entry]:
        if self._loader is not None:
            self._loader()
        return self._entries

    def get(self, name: str) -> Entry:
        entries = self._all()
        if name not in entries:
            raise KeyError(f"unknown {self.kind} {name!r}; registered: {', '.join(sorted(entries)) or 'none'}")
        return entries[name]

    def entries(self, task: str | None = None) -> list[Entry]:
        """Registered entries, optionally only those of one task, sorted by name."""
        return [e for _, e in sorted(self._all().items()) if task is None or e.task == task]


def _import_model_modules() -> None:
    """Importing the families registers their factories."""
    import importlib

    from ocr.models import FAMILIES

    for name in FAMILIES:
        importlib.import_module(name)


MODELS = Registry("model", loader=_import_model_modules)
BACKBONES = Registry("backbone")


def register_model(task: str) -> Callable:
    """Decorator: ``@register_model("recognition") def crnn_vgg(**kw): ...``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    return lambda fn: MODELS.register(fn, task)


def create_model(name: str, **kwargs):
    """Build a registered model by name; ``kwargs`` override its config fields."""
    model = MODELS.get(name).factory(**kwargs)
    model.arch = name  # checkpoints record it, so that loading rebuilds the same model
    return model


def list_models(task: str | None = None) -> list[Entry]:
    """Registered models, optionally only those of one task, sorted by name."""
    return MODELS.entries(task)
