"""Inference backends: the PyTorch model as it is, or its forward pass in ONNX Runtime.

``with_backend(model, backend, precision, weights=path)`` gives the model ready to run:

- ``torch``: ``fp32``, or ``bf16`` (autocast; fast on CPUs with AMX/AVX512-BF16);
- ``onnxruntime`` (CPU): ``fp32``, or ``int8`` (static post-training quantization, see
  ``ocr.runtime.quantize``).

ONNX files are built on first use from the weight file and cached (``cache_dir()``), keyed by the
weight file's SHA-256, the precision and the exporter and runtime versions. Nothing ships but the
safetensors: the ONNX file is a derived artefact, rebuilt whenever weights or versions change, and
the package stays one copy of each model. ``ocr export MODEL --format onnx`` builds one explicitly
(e.g. while building a container image).

A model whose file says how to decode without PyTorch (CRNN recognizers, FCENet) runs as a
``standalone.StandaloneModel``; ``cached_standalone`` finds it in the cache from the weight file
alone, so that a reader whose models are cached never imports PyTorch. The others run as an
``onnx_model.OnnxModel`` beside their PyTorch model. ``forward`` has what the pipeline needs to run
either kind, or a PyTorch model, on numpy batches.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

BACKENDS = ("auto", "torch", "onnxruntime")
PRECISIONS = ("auto", "fp32", "bf16", "int8")
BACKEND_PRECISIONS = {"torch": ("fp32", "bf16"), "onnxruntime": ("fp32", "int8")}
# What "auto" means on CPU, per task: measured in README "Speed" (int8 costs under 0.5 points there)
AUTO_PRECISION = {"detection": "fp32", "recognition": "int8"}


def add_backend_args(p, default: str = "auto") -> None:
    """--backend and --precision (``ocr.runtime``), for the subcommands and the tools."""
    p.add_argument("--backend", choices=BACKENDS, default=default,
                   help="how the models run: auto (ONNX Runtime on CPU when installed, else PyTorch), torch, onnxruntime")
    p.add_argument("--precision", choices=PRECISIONS, default="auto" if default == "auto" else "fp32",
                   help="fp32; bf16 (torch); int8 (onnxruntime); auto: int8 recognition and fp32 detection on ONNX Runtime")


class BackendError(ValueError):
    """A backend or precision that cannot run the model here."""


def onnxruntime_available() -> bool:
    """Whether onnx and onnxruntime are installed (without importing them: ``import onnx`` alone
    takes half a second)."""
    from importlib.util import find_spec

    return find_spec("onnx") is not None and find_spec("onnxruntime") is not None


def resolve_backend(backend: str, precision: str, task: str, device: str = "cpu") -> tuple[str, str]:
    """("torch" | "onnxruntime", precision) for ``backend``/``precision`` that may be "auto"."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise BackendError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    cpu = str(device) == "cpu"
    if backend == "auto":
        backend = "onnxruntime" if cpu and task in AUTO_PRECISION and onnxruntime_available() else "torch"
    if backend == "onnxruntime":
        if not cpu:
            raise BackendError(f"the onnxruntime backend runs on CPU only (device {device})")
        if task not in AUTO_PRECISION:
            raise BackendError(f"the onnxruntime backend runs detection and recognition models, not {task}")
        if not onnxruntime_available():
            raise BackendError("the onnxruntime backend needs the onnx and onnxruntime packages (pip install onnx onnxruntime)")
    if precision == "auto":
        precision = AUTO_PRECISION.get(task, "fp32") if backend == "onnxruntime" else "fp32"
    if precision not in BACKEND_PRECISIONS[backend]:
        raise BackendError(f"the {backend} backend runs {' or '.join(BACKEND_PRECISIONS[backend])}, not {precision}")
    return backend, precision


def load(spec: str, device: str = "cpu", backend: str = "torch", precision: str = "fp32"):
    """The model of a weight file or shipped name (``ocr.weights``) set up for ``backend``: opened
    from the ONNX cache without PyTorch when it is there (``cached_standalone``), else loaded."""
    from ocr.weights import resolve_model, resolve_path

    for task in AUTO_PRECISION:  # the tasks ONNX Runtime runs; the file tells which one it is
        found = cached_standalone(resolve_path(spec), task, backend, precision, device, spec)
        if found is not None:
            return found
    model = resolve_model(spec, device=device)
    if backend == "torch" and precision == "fp32":
        return model
    return with_backend(model, backend, precision, weights=resolve_path(spec), device=device)


def with_backend(model, backend: str = "auto", precision: str = "auto", weights: str | os.PathLike | None = None,
                 device: str = "cpu"):
    """``model`` (a loaded PyTorch model) set up to run on ``backend`` at ``precision``.
    ``weights``: the file it was loaded from (the ONNX cache key; without it, the model's tensors).
    With ``backend="auto"`` a model that cannot be exported runs in PyTorch (with a note on stderr);
    named explicitly, ``onnxruntime`` raises ``BackendError`` naming the model instead."""
    asked = backend
    backend, precision = resolve_backend(backend, precision, getattr(model, "task", "?"), device)
    if backend == "torch":
        if precision == "bf16":
            from ocr.runtime.autocast_model import AutocastModel

            return AutocastModel(model)
        return model
    try:
        return _onnx_model(model.float().cpu().eval(), precision, weights)
    except Exception as e:  # noqa: BLE001 - the exporter's and ONNX Runtime's errors have no common base
        name = getattr(model, "source", None) or getattr(model, "arch", type(model).__name__)
        if asked != "auto":
            raise BackendError(f"{name}: cannot run in ONNX Runtime ({type(e).__name__}: {e})") from e
        print(f"ocr: {name} runs in PyTorch: its ONNX export failed ({type(e).__name__}: {e})", file=sys.stderr)
        return model


def _onnx_model(model, precision: str, weights):
    """A ``StandaloneModel`` when the file decodes without PyTorch, else an ``OnnxModel`` of ``model``."""
    from ocr.runtime.onnx_model import OnnxModel
    from ocr.runtime.onnx_session import OnnxSession
    from ocr.runtime.standalone import StandaloneModel, runs_standalone, runtime_spec

    path = cache_path(model, precision, weights)
    session = _open_cached(path)
    if session is None or runtime_spec(session) != getattr(model, "runtime_spec", lambda: None)():
        session = OnnxSession(build_onnx(model, precision, path))  # missing, damaged, or decodes otherwise
    if runs_standalone(session):
        return StandaloneModel(session, precision, getattr(model, "source", None))
    return OnnxModel(model, session, precision)


def _open_cached(path: Path):
    """An ``OnnxSession`` of the cached file, or None when it is missing or damaged."""
    from ocr.runtime.onnx_session import OnnxSession

    if not path.is_file():
        return None
    try:
        return OnnxSession(path.read_bytes())
    except Exception:  # noqa: BLE001 - ONNX Runtime's load errors have no common base
        return None


def cached_standalone(weights: str | os.PathLike, task: str, backend: str = "auto", precision: str = "auto",
                      device: str = "cpu", source: str | None = None):
    """The ``StandaloneModel`` of a weight file for ``task`` when ``backend``/``precision`` run it in
    ONNX Runtime and its ONNX file is cached; else None (the caller loads the PyTorch model, which
    builds the file). Never imports PyTorch."""
    from ocr.engine.weight_metadata import read_metadata
    from ocr.runtime.standalone import StandaloneModel, runs_standalone

    if task not in AUTO_PRECISION:
        return None
    backend, precision = resolve_backend(backend, precision, task, device)
    if backend != "onnxruntime":
        return None
    arch = read_metadata(weights).get("arch")
    if not arch:
        return None
    session = _open_cached(_cache_file(arch, precision, _file_digest(weights)))
    if session is None or not runs_standalone(session):
        return None
    try:
        model = StandaloneModel(session, precision, source)
    except (KeyError, TypeError, ValueError):  # metadata it cannot use: the PyTorch path rebuilds the file
        return None
    return model if model.task == task else None


def cache_dir() -> Path:
    """Where built ONNX files are kept: ``$OCR_CACHE_DIR`` or ``~/.cache/ocr-toolkit``, + ``/onnx``."""
    root = os.environ.get("OCR_CACHE_DIR") or Path.home() / ".cache" / "ocr-toolkit"
    return Path(root) / "onnx"


def cache_key(model, precision: str, weights=None) -> str:
    """The cache name of ``model`` at ``precision``: from its weight file's bytes when given, else
    from its config and tensors."""
    if weights is not None:
        return _key(model.arch, precision, _file_digest(weights))  # as _cache_file finds it
    from ocr.engine.checkpoint import model_metadata

    h = hashlib.sha256()
    h.update(json.dumps(model_metadata(model), sort_keys=True).encode())  # config: decoding thresholds, sizes
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().float().cpu().numpy().tobytes())
    return _key(model.arch, precision, h.hexdigest())


def _file_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(arch: str, precision: str, digest: str) -> str:
    """``arch-precision-hash`` of the weights' digest and the versions that shape the file (read
    from the installed packages' metadata: no import)."""
    from importlib.metadata import version

    from ocr.runtime.onnx_session import EXPORT, OPSET
    from ocr.runtime.quantize import RECIPE
    from ocr.version import __version__

    versions = f"{__version__}-{version('torch')}-{version('onnx')}-{version('onnxruntime')}-{OPSET}-e{EXPORT}"
    if precision == "int8":
        versions += f"-q{RECIPE}"
    h = hashlib.sha256(digest.encode())
    h.update(versions.encode())
    return f"{arch}-{precision}-{h.hexdigest()[:20]}"


def cache_path(model, precision: str, weights=None) -> Path:
    """The cache file of ``model`` at ``precision`` (``cache_key`` under ``cache_dir()``)."""
    return cache_dir() / f"{cache_key(model, precision, weights)}.onnx"


def _cache_file(arch: str, precision: str, digest: str) -> Path:
    """``cache_path`` from a weight file's architecture and digest alone (no model loaded)."""
    return cache_dir() / f"{_key(arch, precision, digest)}.onnx"


def onnx_bytes(model, precision: str, weights=None) -> bytes:
    """The model as ONNX at ``precision`` (fp32 or int8): from the cache, or built and cached."""
    path = cache_path(model, precision, weights)
    return path.read_bytes() if path.is_file() else build_onnx(model, precision, path)


def build_onnx(model, precision: str, path: Path | None = None) -> bytes:
    """Export (and for int8 quantize) the model; written atomically to ``path`` when given (an
    unwritable cache is skipped: the bytes still serve)."""
    from ocr.runtime.onnx_export import export_onnx, write_atomic

    if path is not None:
        print(f"ocr: building the {precision} ONNX Runtime model of {getattr(model, 'source', model.arch)} "
              f"(first use; cached in {path.parent})", file=sys.stderr)
    data = export_onnx(model)
    if precision == "int8":
        from ocr.runtime.quantize import calibration_inputs, quantize_int8

        # histogram (percentile) calibration keeps every activation of every feed: fine for crops,
        # gigabytes for a detector's pages, which are calibrated on their extremes
        method = "minmax" if model.task == "detection" else "percentile"
        data = quantize_int8(data, calibration_inputs(model), method=method, scope=getattr(model, "int8_scope", None))
    if path is not None:
        try:
            write_atomic(path, data)
        except OSError:  # a read-only home: run from memory
            pass
    return data
