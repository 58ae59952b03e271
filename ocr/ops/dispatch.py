"""Backend choice for ``ocr.ops``: Triton kernels on CUDA when usable, PyTorch otherwise.

Environment switches (read on every call, so tests may flip them):

* ``OCR_FORCE_REFERENCE=1`` - always use the PyTorch reference (wins over everything).
* ``OCR_TRITON_INTERPRET_OK=1`` or ``TRITON_INTERPRET=1`` - also run the Triton kernels on
  CPU tensors, through Triton's interpreter (slow; for tests at small sizes).
"""
from __future__ import annotations

import functools
import os
import warnings

import torch

__all__ = ["force_reference", "interpret_ok", "triton_importable", "cuda_triton_ok",
           "use_triton", "backend_for", "disable_triton"]

_TRUE = ("1", "true", "yes", "on")
_DISABLED: set[str] = set()  # ops whose Triton path failed at runtime on CUDA


def _env_flag(name: str) -> bool:
    """True when environment variable ``name`` is set to a truthy value."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def force_reference() -> bool:
    """``OCR_FORCE_REFERENCE=1``: the PyTorch reference is used for every op."""
    return _env_flag("OCR_FORCE_REFERENCE")


def interpret_ok() -> bool:
    """Whether the Triton path may run on CPU tensors (through the interpreter)."""
    return _env_flag("OCR_TRITON_INTERPRET_OK") or _env_flag("TRITON_INTERPRET")


@functools.lru_cache(maxsize=None)
def triton_importable() -> bool:
    """True when triton can be imported (checked once)."""
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # ImportError, or a broken install
        return False
    return True


@functools.lru_cache(maxsize=None)
def _device_ok(index: int) -> bool:
    """Triton targets NVIDIA GPUs from Volta (sm_70) on, and AMD ROCm devices."""
    if getattr(torch.version, "hip", None):
        return True
    major, _ = torch.cuda.get_device_capability(index)
    return major >= 7


def cuda_triton_ok(device: torch.device) -> bool:
    """Triton kernels can be compiled and launched for this CUDA device."""
    if device.type != "cuda" or not torch.cuda.is_available() or not triton_importable():
        return False
    index = device.index if device.index is not None else torch.cuda.current_device()
    return _device_ok(index)


def use_triton(op: str, *tensors: torch.Tensor) -> bool:
    """Whether op ``op`` should run its Triton kernel for these (same-device) tensors."""
    if force_reference() or op in _DISABLED or not tensors:
        return False
    device = tensors[0].device
    if any(t.device != device for t in tensors[1:]):
        return False
    if device.type == "cuda":
        return cuda_triton_ok(device)
    return device.type == "cpu" and interpret_ok() and triton_importable() and _can_interpret()


@functools.lru_cache(maxsize=None)
def _can_interpret() -> bool:
    """Triton's CPU interpreter can run the kernels (checked once)."""
    from ocr.kernels import can_interpret

    return can_interpret()


def backend_for(op: str, *tensors: torch.Tensor) -> str:
    """``"triton"`` or ``"reference"``: what :func:`use_triton` decides, as a name."""
    return "triton" if use_triton(op, *tensors) else "reference"


def disable_triton(op: str, error: BaseException) -> None:
    """Stop using the Triton path of ``op`` in this process after a runtime failure."""
    if op not in _DISABLED:
        _DISABLED.add(op)
        warnings.warn(f"ocr.ops.{op}: Triton kernel failed ({type(error).__name__}: {error}); "
                      "falling back to the PyTorch reference", RuntimeWarning, stacklevel=3)
