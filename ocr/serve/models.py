"""The models ``ocr serve`` offers, loaded once at start-up and shared by every request."""
from __future__ import annotations

import threading
from pathlib import Path

from ocr.api import Reader, load_model
from ocr.devices import resolve_device


class ModelPool:
    """Every shipped model plus the configured defaults, by name and task."""

    def __init__(self, det: str | None, rec: str | None, device: str, backend: str = "auto", precision: str = "auto"):
        from ocr.weights import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER, shipped

        self.device = resolve_device(device)
        self.default = {"detection": _name(det or DEFAULT_DETECTOR), "recognition": _name(rec or DEFAULT_RECOGNIZER)}
        specs = {name: str(path) for name, path in shipped().items()}
        specs.setdefault(self.default["detection"], det or DEFAULT_DETECTOR)
        specs.setdefault(self.default["recognition"], rec or DEFAULT_RECOGNIZER)
        self.models = {name: load_model(spec, self.device, backend, precision) for name, spec in specs.items()}
        for task, name in self.default.items():
            if getattr(self.models[name], "task", task) != task:
                raise ValueError(f"{name}: is a {self.models[name].task} model, a {task} model is needed here")
        self.lock = threading.Lock()

    def names(self, task: str) -> list[str]:
        return [n for n, m in self.models.items() if getattr(m, "task", None) == task]

    def pick(self, name: str | None, task: str):
        """The model called ``name`` (None: the default) for ``task``; ValueError naming the choices."""
        name = name or self.default[task]
        if name not in self.names(task):
            raise ValueError(f"{task} model {name!r} is not offered here; choose one of {', '.join(self.names(task))}")
        return self.models[name]

    def reader(self, det: str | None, rec: str | None, det_size: int) -> Reader:
        """A Reader over the shared models (cheap: nothing is loaded)."""
        return Reader(det=self.pick(det, "detection"), rec=self.pick(rec, "recognition"), device=self.device,
                      det_size=det_size)


def _name(spec: str) -> str:
    """A shipped name stays; a weight file is offered under its file name without the suffix."""
    return Path(spec).name.removesuffix(".safetensors") if spec.endswith(".safetensors") else spec
