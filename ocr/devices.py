"""One place that turns a user's device name into a torch device string."""
from __future__ import annotations

import torch


def resolve_device(name: str = "auto", local_rank: int = 0) -> str:
    """``auto`` -> ``cuda:<local_rank>`` when a GPU is there, else ``cpu``; ``cpu`` and ``cuda[:N]``
    as given. A clear error for ``cuda`` without a GPU and for unknown names."""
    if name == "auto":
        return f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return name
