"""Training configuration: a YAML recipe plus ``key=value`` overrides, as a frozen dataclass.

A recipe may name a ``base:`` recipe (a path relative to its own folder): mappings merge deeply
with the recipe's own keys winning, other values (lists included) are replaced. Bases may chain."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class DataSource:
    path: str = ""
    ratio: float = 1.0
    augment: bool | str = False  # recognition: true (light) or a RecAugment profile ("scene")
    caseless: bool = False  # recognition: labels tell no case (all capitals): either case is right
    name: str = ""
    mode: str = ""  # task-specific (e.g. detection: "words" or "lines->words")
    synth: str = ""  # recognition: "crops" renders samples on the fly instead of reading ``path``
    geometry: str = "plain"  # synth: the crop geometry (ocr.data.synth.crops.GEOMETRIES)
    seed: int = 0  # synth: sample i is drawn from rng(seed, i), as in a store of tools/synth.py
    photo_bg: str = ""  # synth: photo-background pool folder (tools/synth.py photo-bg), as --photo-bg


@dataclass(frozen=True)
class TrainConfig:
    model: str
    task: str  # "recognition" | "detection"
    out: str
    train: tuple[DataSource, ...]
    val: tuple[DataSource, ...] = ()
    model_args: dict = field(default_factory=dict)
    data_args: dict = field(default_factory=dict)  # task-specific dataset options
    batch_size: int = 64
    steps: int = 10000
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 500
    min_lr_ratio: float = 0.01
    grad_clip: float = 5.0
    val_every: int = 1000
    log_every: int = 50
    save_every: int = 500
    amp: str = "auto"  # auto | bf16 | fp16 | off
    workers: int = 2
    threads: int = 0  # torch intra-op threads on CPU (0 = torch default)
    seed: int = 0
    init_from: str = ""  # weights to start from (safetensors), e.g. for fine-tuning
    freeze_norm_stats: bool = False  # batch norms keep their running statistics (train = eval)
    fold_norms: bool = True  # frozen batch norms run folded into their convolutions (same math, faster)
    freeze: tuple[str, ...] = ()  # parameter-name prefixes kept fixed (e.g. "backbone."): not trained, no gradient
    distill_from: str = ""  # a CTC recognizer's weights whose frame posteriors the model also learns (ocr.engine.distill)
    distill_weight: float = 1.0  # the distillation term's weight beside the task loss
    distill_temperature: float = 1.0


def _parse_value(text: str):
    value = yaml.safe_load(text)
    return text if value is None and text not in ("null", "~", "") else value


def _set_path(tree: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = tree
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {dotted!r}: {k!r} is not a mapping")
    node[keys[-1]] = value


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """Read a YAML recipe and apply ``key=value`` overrides (dotted keys reach into mappings)."""
    tree = read_recipe(path)
    if "stages" in tree or "export" in tree:
        raise ValueError(f"{path}: a staged recipe (stages/export); run it with `ocr train {path}` "
                         "or load it with ocr.engine.stages.load_recipe")
    return config_from_dict(apply_overrides(tree, overrides), str(path))


def read_recipe(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The YAML tree of a recipe with its chain of ``base:`` recipes merged in."""
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise ValueError(f"{path}: cannot read config ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: invalid YAML ({e})") from None
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: a recipe must be a mapping of keys, got {type(tree).__name__}")
    base = tree.pop("base", None)
    if base is None:
        return tree
    chain = (*_chain, path.resolve())
    base_path = path.parent / str(base)
    if base_path.resolve() in chain:
        names = " -> ".join(str(p) for p in (*chain, base_path.resolve()))
        raise ValueError(f"{path}: base recipes form a cycle ({names})")
    if not base_path.is_file():
        raise ValueError(f"{path}: base recipe {base_path} not found")
    return merge_trees(read_recipe(base_path, chain), tree)


def merge_trees(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: mappings merge deeply, other values (lists too) are replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_trees(out[key], value)
        else:
            out[key] = value
    return out


def apply_overrides(tree: dict, overrides: list[str]) -> dict:
    """Set ``key=value`` items (values read as YAML, dotted keys reach into mappings) in ``tree``."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r} must look like key=value")
        _set_path(tree, key.strip(), _parse_value(text))
    return tree


def config_from_dict(tree: dict, where: str = "<config>") -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(tree) - names
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; valid: {sorted(names)}")
    tree = dict(tree)
    for key in ("train", "val"):
        items = tree.get(key) or []
        try:
            tree[key] = tuple(DataSource(**s) if isinstance(s, dict) else DataSource(path=str(s)) for s in items)
        except TypeError as e:
            raise ValueError(f"{where}: bad {key} data entry ({e})") from None
    if "freeze" in tree:
        freeze = tree["freeze"]
        freeze = [freeze] if isinstance(freeze, str) else freeze
        if not isinstance(freeze, (list, tuple)) or not all(isinstance(x, str) and x for x in freeze):
            raise ValueError(f"{where}: freeze must be a list of parameter-name prefixes, got {tree['freeze']!r}")
        tree["freeze"] = tuple(freeze)
    for f in dataclasses.fields(TrainConfig):
        if f.name in tree and f.type in ("int", "float", "bool"):
            tree[f.name] = _coerce(tree[f.name], f.type, where, f.name)
    missing = [n for n in ("model", "task", "out", "train") if not tree.get(n)]
    if missing:
        raise ValueError(f"{where}: missing required keys {missing}")
    return TrainConfig(**tree)


def _coerce(value, type_name: str, where: str, key: str):
    """YAML reads ``1e-4`` as a string; numbers and booleans are converted by the field's type."""
    try:
        if type_name == "bool":
            if isinstance(value, str):
                return {"true": True, "false": False}[value.lower()]
            return bool(value)
        return int(value) if type_name == "int" else float(value)
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{where}: {key} must be {type_name}, got {value!r}") from None


def config_to_dict(cfg: TrainConfig) -> dict:
    return dataclasses.asdict(cfg)
