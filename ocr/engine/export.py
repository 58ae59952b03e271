"""Export a trained checkpoint as a shipped fp16 weight file, optionally with config changes that
keep the weights (for a detector, its decoding thresholds chosen on held-out data)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ocr.engine.checkpoint import load_model, read_metadata, save_model, with_config


def shipped_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    """Where the shipped file ``name`` goes: the package's weights folder unless ``folder`` is given."""
    from ocr.weights import WEIGHTS_DIR

    return Path(folder if folder is not None else WEIGHTS_DIR) / f"{name}.safetensors"


def export_weights(checkpoint: str | os.PathLike, dest: str | os.PathLike, note: str = "",
                   settings: dict | None = None) -> Path:
    """Write ``checkpoint`` to ``dest`` in fp16 with ``settings`` applied to the model's config;
    the file records its source checkpoint, that checkpoint's training info and ``note``."""
    model = with_config(load_model(checkpoint), **(settings or {}))
    extra = read_metadata(checkpoint).get("extra", "")
    return save_model(model, dest, dtype=torch.float16,
                      extra={"source": str(checkpoint), "train_info": extra, "note": note})
