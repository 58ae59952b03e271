"""PyTorch model -> ONNX file, for the ONNX Runtime backend (``ocr.runtime.onnx_model``).

Detectors take ``images`` (B, 3, H, W) with batch, height and width dynamic and give one output
per pyramid level (``p3``, ``p4``, ...). Recognizers take ``images`` (B, 3, img_height, W) with
batch and width dynamic plus ``widths`` (B,) int64, the columns of each image to read (the
contract's ``widths``), and give their outputs by name (``logits`` for CTC, ``slots`` for CPPD).
A recognizer's BiLSTM reads packed sequences; the export turns that into the ONNX LSTM's
``sequence_lens``, so a crop reads the same whatever its batch, as in PyTorch.

The file's metadata holds the checkpoint metadata (``arch``, ``config``), the output names and,
for a model with a ``runtime_spec()``, how to decode its outputs without PyTorch (``runtime``), so
a session can be matched to its model or run alone (``ocr.runtime.standalone``). Export uses PyTorch's TorchScript-based exporter
(``dynamo=False``): the dynamo exporter cannot yet decompose a packed LSTM with a dynamic width.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from ocr.engine.checkpoint import model_metadata
from ocr.runtime.onnx_session import OPSET


class _Signature(nn.Module):
    """The model's forward with plain tensors in and a tuple of named tensors out. Exported in eval
    mode: the exporter puts a module back in the mode it had, and a new wrapper (training mode)
    would leave the model in training mode, its dropout on."""

    def __init__(self, model: nn.Module, names: list[str]):
        super().__init__()
        self.model, self.names = model, names

    def forward(self, images: torch.Tensor, widths: torch.Tensor | None = None):
        out = self.model(images) if widths is None else self.model(images, widths=widths)
        return tuple(out[n] for n in self.names) if isinstance(out, dict) else (out,)


def sample_inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    """Example inputs of the model's task (batch 2; a recognizer's two crops of different widths)."""
    if model.task == "detection":
        return (torch.zeros(2, 3, 128, 160),)
    if model.task == "recognition":
        h = int(model.config.img_height)
        return torch.zeros(2, 3, h, 8 * h), torch.tensor([6 * h, 3 * h], dtype=torch.int64)
    raise ValueError(f"{getattr(model, 'arch', type(model).__name__)}: ONNX export covers detection and "
                     f"recognition models, not {model.task}")


def output_names(model: nn.Module, inputs: tuple) -> list[str]:
    with torch.inference_mode():
        out = model(inputs[0]) if len(inputs) == 1 else model(inputs[0], widths=inputs[1])
    if isinstance(out, dict):
        return list(out)
    return ["logits"]


def export_onnx(model: nn.Module, path: str | os.PathLike | None = None) -> bytes:
    """Export a detection or recognition model (fp32, on CPU); returns the ONNX bytes and, when
    ``path`` is given, writes them there atomically."""
    model = model.float().cpu().eval()
    inputs = sample_inputs(model)
    names = output_names(model, inputs)
    in_names = ["images"] if len(inputs) == 1 else ["images", "widths"]
    axes = {"images": {0: "batch", 3: "width"}}
    if model.task == "detection":
        axes["images"][2] = "height"
        axes.update({n: {0: "batch", 2: f"{n}_h", 3: f"{n}_w"} for n in names})
    else:
        axes["widths"] = {0: "batch"}
        axes.update({n: {0: "batch"} for n in names})
        if names == ["logits"]:
            axes["logits"][1] = "frames"
        elif names == ["logits", "eos"]:  # LISTER: as many steps as the longest reading took
            axes["logits"][1] = axes["eos"][1] = "steps"
    buf = io.BytesIO()
    with warnings.catch_warnings(), _quiet_stderr():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(_Signature(model, names).eval(), inputs, buf, dynamo=False, input_names=in_names,
                          output_names=names, dynamic_axes=axes, opset_version=OPSET)
    meta = {**model_metadata(model), "outputs": json.dumps(names)}
    if hasattr(model, "runtime_spec"):  # decodes without PyTorch (ocr.runtime.standalone)
        meta["runtime"] = json.dumps(model.runtime_spec())
    data = _with_metadata(buf.getvalue(), meta)
    if path is not None:
        write_atomic(Path(path), data)
    return data


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the exporter's C++ shape-inference notes (printed straight to file descriptor 2)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _with_metadata(data: bytes, meta: dict) -> bytes:
    import onnx

    proto = onnx.load_from_string(data)
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
