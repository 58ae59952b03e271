"""How a model is asked to decode (``DecodeOptions``) and the check that it can: shared by the
PyTorch models (``ocr.models.contract``) and the ONNX models that run without PyTorch
(``ocr.runtime.standalone``); ``as_numpy`` lets a decoder take the outputs of either."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DECODE_OPTIONS = ("beam", "lexicon")


class UnsupportedOption(ValueError):
    """A decoding option the model cannot honour."""


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode: ``beam`` > 1 searches that many hypotheses (0 or 1: greedy); ``lexicon``
    constrains the output to one of its words."""

    beam: int = 0
    lexicon: tuple[str, ...] | None = None

    def __post_init__(self):
        if not isinstance(self.beam, int) or self.beam < 0:
            raise ValueError(f"beam must be a whole number >= 0 (0 = greedy), got {self.beam!r}")
        if self.lexicon is not None:
            object.__setattr__(self, "lexicon", tuple(self.lexicon) or None)

    def requested(self) -> list[str]:
        """The options that ask for more than greedy decoding."""
        return [name for name, on in (("beam", self.beam > 1), ("lexicon", bool(self.lexicon))) if on]


GREEDY = DecodeOptions()


def model_name(model) -> str:
    """How errors name a model: its file or shipped name (when loaded from one) and architecture."""
    arch = getattr(model, "arch", type(model).__name__)
    source = getattr(model, "source", None)
    return f"{source} ({arch})" if source and source != arch else arch


def check_decode_options(model, options: DecodeOptions) -> None:
    """Raise ``UnsupportedOption`` naming the model when it cannot decode as asked."""
    supported = getattr(model, "decode_options", frozenset())
    missing = [o for o in options.requested() if o not in supported]
    if missing:
        has = ", ".join(f"--{o}" for o in sorted(supported)) or "greedy decoding only"
        raise UnsupportedOption(f"{model_name(model)} does not support {', '.join('--' + o for o in missing)} "
                                f"(it supports: {has})")


def as_numpy(x) -> np.ndarray:
    """float32 numpy array of a model output: a numpy array or a (CPU or GPU) PyTorch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, np.float32)
