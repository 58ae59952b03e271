"""What a weight file says about itself (its safetensors metadata: ``format``, ``arch``, ``config``),
read without PyTorch, and the error for a file that cannot be used. ``ocr.engine.checkpoint``
writes and loads the files."""
from __future__ import annotations

import os
from pathlib import Path

FORMAT = "ocr-model-v1"


class CheckpointError(RuntimeError):
    """A missing, corrupt or incompatible weight file."""


def read_metadata(path: str | os.PathLike) -> dict:
    """Metadata of a safetensors file, with a clear error naming the file when it is unusable."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weight file not found")
    try:
        with safe_open(str(path), framework="numpy") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
