"""Shipped weights: files in ``ocr/assets/weights`` named after the model they hold.

``resolve_model(spec)`` accepts a path to a weight file or the name of a shipped model and
returns the loaded model; nothing is ever downloaded.
"""
from __future__ import annotations

import os
from pathlib import Path

from ocr.engine.weight_metadata import CheckpointError, read_metadata

WEIGHTS_DIR = Path(__file__).parent / "assets" / "weights"

# The defaults used when no model is named (the README's model table describes each).
DEFAULT_RECOGNIZER = "rec_default"
DEFAULT_DETECTOR = "det_default"
DEFAULT_PAGE_MODEL = "page_default"  # not shipped yet: Reader(engine="fullpage") needs page=FILE
DEFAULTS = {"recognition": DEFAULT_RECOGNIZER, "detection": DEFAULT_DETECTOR, "fullpage": DEFAULT_PAGE_MODEL}


def shipped() -> dict[str, Path]:
    """Name -> path of every weight file shipped in the package."""
    return {p.name[: -len(".safetensors")]: p for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))}


def shipped_info() -> list[dict]:
    """Name, architecture, size and task (the registered architecture's) of each shipped weight file."""
    from ocr.registry import list_models

    tasks = {e.name: e.task for e in list_models()}
    rows = []
    for name, path in shipped().items():
        arch = read_metadata(path).get("arch", "?")
        rows.append({"name": name, "arch": arch, "task": tasks.get(arch, "?"), "path": str(path),
                     "size_mb": round(path.stat().st_size / 2**20, 1)})
    return rows


def resolve_path(spec: str) -> Path:
    """A weight file path or a shipped model name -> the file; a clear error otherwise.

    A bare name (no folder, no ``.safetensors``) is only ever a shipped model: a file of that name
    in the current folder is not picked up unless given as a path (``./name``)."""
    if is_path_spec(spec):
        path = Path(spec)
        if not path.is_file():
            what = "is a directory, not a weight file" if path.is_dir() else "weight file not found"
            raise CheckpointError(f"{spec}: {what}")
        return path
    files = shipped()
    if spec in files:
        return files[spec]
    names = ", ".join(files) or "none (train one with tools/train.py)"
    hint = f" (for the file in this folder, write ./{spec})" if Path(spec).exists() else ""
    raise CheckpointError(f"{spec}: not a shipped model{hint}; shipped: {names}")


def is_path_spec(spec: str) -> bool:
    """Whether a model spec names a file: it has a folder part or ends in ``.safetensors``."""
    return spec.endswith(".safetensors") or "/" in spec or (os.sep in spec) or spec.startswith(".")


def resolve_model(spec: str, device="cpu"):
    """Load a model from a weight file path or a shipped model name; ``model.source`` keeps the
    name it was asked by, so errors can name it."""
    from ocr.engine.checkpoint import load_model

    model = load_model(resolve_path(spec), device=device)
    model.source = spec
    return model
