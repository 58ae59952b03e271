"""A detection or recognition model run from its ONNX file alone: no PyTorch.

The export (``ocr.runtime.onnx_export``) writes into the file's metadata what reading needs beside
the forward pass: the model's ``arch`` and ``config``, and its ``runtime_spec()`` as ``runtime``
(the task, the decoding options it supports and its decoder: ``ctc`` for CRNN recognizers,
``fce`` for FCENet). ``StandaloneModel`` rebuilds that decoder (``ctc_decode.CTCDecoder``,
``fce_postprocess.FCEPostprocessor``: numpy, the very code the PyTorch models decode with), so it
reads exactly as the PyTorch model run in ONNX Runtime, and a process that finds its models in the
ONNX cache never imports PyTorch (about 2 s and 200 MB less at start on a laptop CPU).
"""
from __future__ import annotations

import json
from importlib import import_module
from types import SimpleNamespace

from ocr.runtime.onnx_session import OnnxSession

DECODERS = {"ctc": "ocr.models.recognition.ctc_decode:CTCDecoder",
            "fce": "ocr.models.detection.fce_postprocess:FCEPostprocessor"}


def runtime_spec(session: OnnxSession) -> dict | None:
    """The ``runtime`` entry of the file's metadata (the model's ``runtime_spec()``), or None."""
    try:
        spec = json.loads(session.metadata["runtime"])
    except (KeyError, ValueError):
        return None
    return spec if isinstance(spec, dict) else None


def runs_standalone(session: OnnxSession) -> bool:
    """Whether the file says how to decode with a decoder of ``DECODERS``."""
    try:
        return runtime_spec(session)["decoder"]["kind"] in DECODERS
    except (KeyError, TypeError):
        return False


def build_decoder(spec: dict):
    module, name = DECODERS[spec["kind"]].split(":")
    return getattr(import_module(module), name).from_spec(spec)


class StandaloneModel:
    """The contract of ``ocr.models.contract`` (``__call__``, ``postprocess``, ``config``,
    ``tokenizer``, ``decode_options``, ``task``, ``arch``) from an ONNX session and its metadata.
    Takes and gives numpy arrays."""

    backend = "onnxruntime"
    takes_numpy = True

    def __init__(self, onnx: OnnxSession | bytes, precision: str = "fp32", source: str | None = None):
        session = onnx if isinstance(onnx, OnnxSession) else OnnxSession(onnx)
        meta = session.metadata
        spec = json.loads(meta["runtime"])
        self.session, self.precision = session, precision
        self.task, self.arch = spec["task"], meta["arch"]
        self.config = SimpleNamespace(**json.loads(meta["config"]))
        self.decode_options = frozenset(spec["decode_options"])
        self.decoder = build_decoder(spec["decoder"])
        self.tokenizer = getattr(self.decoder, "tokenizer", None)
        self.source = source or self.arch

    def __call__(self, images, widths=None):
        return self.forward(images, widths)  # an instance attribute may wrap it (tools/profile_read.py)

    def forward(self, images, widths=None):
        return self.session.run(images, widths)

    def postprocess(self, outputs, *args, **kwargs):
        return self.decoder(outputs, *args, **kwargs)

    def eval(self):
        return self

    def to(self, device):
        if str(device) != "cpu":
            raise ValueError(f"{self.source}: the onnxruntime backend runs on CPU only")
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.arch}, {self.backend}, {self.precision})"
