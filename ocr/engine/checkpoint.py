"""Self-describing checkpoints in safetensors (no pickle anywhere).

A model file holds the weights plus metadata: ``arch`` (registered model name), ``config`` (JSON of
the model's frozen dataclass config) and ``format``. ``load_model`` rebuilds the model from the
registry with that config, so loading never guesses from file names.

A training state file (``*.state.safetensors``) holds the model and optimizer tensors and, in its
metadata, the step, scheduler state, RNG states and the JSON-able rest: one file, replaced as one
unit, so that training resumes exactly from a consistent step wherever a run was killed.
All writes go to a temporary file in the same folder and are renamed into place (atomic).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ocr.engine.weight_metadata import FORMAT, CheckpointError, read_metadata  # noqa: F401 - re-exported


def _atomic_save(tensors: dict, metadata: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; weight files are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def model_metadata(model: torch.nn.Module) -> dict:
    """The arch name and JSON config a registered model carries (``model.arch``, ``model.config``)."""
    arch = getattr(model, "arch", None)
    config = getattr(model, "config", None)
    if arch is None or config is None:
        raise CheckpointError(f"{type(model).__name__} has no .arch/.config; build it with create_model")
    return {"format": FORMAT, "arch": arch, "config": json.dumps(dataclasses.asdict(config))}


def with_config(model: torch.nn.Module, **changes) -> torch.nn.Module:
    """The same registered model rebuilt with some config fields changed and the same weights
    (for fields that do not shape the weights, e.g. a detector's decoding thresholds)."""
    from ocr.registry import create_model

    config = dataclasses.asdict(model.config)
    unknown = sorted(set(changes) - set(config))
    if unknown:
        raise ValueError(f"{model.arch} config has no field {', '.join(unknown)} (fields: {', '.join(config)})")
    rebuilt = create_model(model.arch, **{**config, **changes})
    rebuilt.load_state_dict(model.state_dict())
    return rebuilt.train(model.training)


def save_model(model: torch.nn.Module, path: str | os.PathLike, dtype: torch.dtype | None = None,
               extra: dict | None = None) -> Path:
    """Write weights (optionally cast, e.g. fp16 for shipping) with self-describing metadata."""
    path = Path(path)
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        state[k] = v.contiguous()
    meta = model_metadata(model)
    if extra:
        meta["extra"] = json.dumps(extra)
    _atomic_save(state, meta, path)
    return path


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a registered model from a self-describing weight file, in eval mode, fp32."""
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an ocr model file (format={meta.get('format')!r})")
    model = _build(path, meta)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path}: cannot read weights ({e})") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit {meta['arch']} ({str(e).splitlines()[-1].strip()[:200]})") from None
    if missing or unexpected:
        raise CheckpointError(f"{path}: weights do not match {meta['arch']} "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.to(device).eval()


def _build(path, meta: dict) -> torch.nn.Module:
    """The registered model a file's metadata describes. A config never names a local file (a
    charset comes by name or inline), so a weight file cannot make the loader read other files."""
    from ocr.registry import create_model

    try:
        config = json.loads(meta.get("config") or "{}")
    except ValueError:
        raise CheckpointError(f"{path}: its config metadata is not JSON") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: its config metadata is not a JSON object")
    for key, value in config.items():
        if isinstance(value, str) and value.startswith("file:"):
            raise CheckpointError(f"{path}: config field {key} names a file; weight files must carry "
                                  "charsets by name or inline (chars:...)")
    try:
        return create_model(str(meta.get("arch")), **config)
    except KeyError as e:
        raise CheckpointError(f"{path}: {e.args[0] if e.args else e}") from None
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: config does not fit {meta.get('arch')} ({e})") from None


def save_train_state(path: str | os.PathLike, optimizer: torch.optim.Optimizer, info: dict,
                     model: torch.nn.Module | None = None) -> Path:
    """Model and optimizer tensors + JSON info (step, scheduler, RNG states, data position) in one file."""
    path = Path(path)
    opt = optimizer.state_dict()
    tensors, plain_state = {}, {}
    if model is not None:
        tensors.update({"model." + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    for pid, st in opt["state"].items():
        plain_state[str(pid)] = {}
        for name, val in st.items():
            if torch.is_tensor(val):
                tensors[f"opt.{pid}.{name}"] = val.detach().cpu().contiguous()
            else:
                plain_state[str(pid)][name] = val
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"info": json.dumps(info), "opt_groups": json.dumps(opt["param_groups"]),
            "opt_plain": json.dumps(plain_state)}
    _atomic_save(tensors, meta, path)
    return path


def load_train_state(path: str | os.PathLike, optimizer: torch.optim.Optimizer,
                     model: torch.nn.Module | None = None) -> dict:
    """Restore the model weights (from this file, or from the model file beside it when the state
    predates weights in states), optimizer tensors and the torch RNG; returns the saved info dict."""
    path = Path(path)
    meta = read_metadata(path)
    tensors = _read_tensors(path)
    if model is not None:
        weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        if not weights:
            weights = _read_tensors(path.with_name(path.name.replace(".state.", ".")))
        _fit(path, model.load_state_dict, weights)
    state: dict = {}
    for pid, plain in json.loads(meta["opt_plain"]).items():
        state[int(pid)] = dict(plain)
    for key, val in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = val
    _fit(path, optimizer.load_state_dict, {"state": state, "param_groups": json.loads(meta["opt_groups"])})
    torch.set_rng_state(tensors["rng.torch"])
    return json.loads(meta["info"])


def _read_tensors(path: Path) -> dict:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read weights ({' '.join(str(e).split())})") from None


def _fit(path: Path, load, state) -> None:
    """Load a saved state into the model or optimizer; a shape mismatch says how to start fresh."""
    try:
        load(state)
    except (RuntimeError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[-1].strip() if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: does not fit this recipe's model ({first[:200]}); the recipe changed "
                              "since it was written: start fresh with --no-resume or another out=") from None
