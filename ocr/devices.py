"""One place that turns a user's device name into a torch device string."""
from __future__ import annotations

import re
import sys
from importlib.util import find_spec
from pathlib import Path


def resolve_device(name: str = "auto", local_rank: int = 0) -> str:
    """``auto`` -> ``cuda:<local_rank>`` when a GPU is there, else ``cpu``; ``cpu`` and ``cuda[:N]``
    as given. A clear error for ``cuda`` without a GPU and for unknown names."""
    if name == "auto":
        return f"cuda:{local_rank}" if _cuda_available() else "cpu"
    if name.startswith("cuda") and not _cuda_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return name


def _cuda_available() -> bool:
    """Whether PyTorch sees a GPU. Told without importing PyTorch when it certainly cannot: a
    CPU-only build (its ``torch/version.py`` has ``cuda`` and ``hip`` None), or Linux without a GPU
    driver's device files. Reading on CPU through ONNX Runtime then never loads PyTorch
    (``ocr.runtime.standalone``)."""
    if "torch" not in sys.modules and not (torch_has_cuda_build() and gpu_device_files()):
        return False
    import torch

    return torch.cuda.is_available()


GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia/gpus", "/dev/kfd")  # NVIDIA, AMD ROCm


def gpu_device_files() -> bool:
    """False only on Linux without any GPU driver's device files (elsewhere: not known, True)."""
    if not sys.platform.startswith("linux"):
        return True
    return any(Path(p).exists() for p in GPU_DEVICE_FILES)


def torch_has_cuda_build() -> bool:
    """False only when the installed PyTorch is certainly a CPU-only build (or is not installed)."""
    spec = find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return False
    for folder in spec.submodule_search_locations:
        try:
            text = (Path(folder) / "version.py").read_text()
        except OSError:
            continue
        found = dict(re.findall(r"^(cuda|hip)\s*(?::[^=]*)?=\s*(.+)$", text, re.M))
        if set(found) == {"cuda", "hip"}:
            return any(value.strip() != "None" for value in found.values())
    return True
