"""Staged recipes: one recipe that trains several stages in order, each starting from the previous
stage's checkpoint, then exports the shipped weight file.

    out: runs/rec_default
    stages:                       # each: a name and changes to the recipe's keys
      - {name: p1, steps: 3000}
      - {name: p2, steps: 700, lr: 0.0005, init: last}
    export: {name: rec_default, checkpoint: last, set: {score_thr: 0.5}, note: "..."}

A stage trains in ``<out>/<name>``. Its ``init_from`` is, unless it sets one, the previous stage's
``init`` checkpoint (``last``, the default, or ``best``); ``init_fp16: true`` starts from that
checkpoint rounded to fp16 as an exported file is. ``stop_at: N`` trains the schedule of ``steps``
but stops at step N. ``history: [{steps: 4500, until: 750}]`` replays a run that was started with
other keys and resumed with the stage's own at step ``until``. Rerunning a recipe resumes an
interrupted stage exactly and skips finished ones. A recipe without ``stages`` is one stage in
``out`` itself.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from ocr.engine.config import TrainConfig, apply_overrides, config_from_dict, merge_trees, read_recipe

STAGE_KEYS = ("name", "init", "init_fp16", "stop_at", "history")
EXPORT_KEYS = ("name", "checkpoint", "set", "note")
CHECKPOINTS = ("last", "best")


@dataclass(frozen=True)
class Stage:
    name: str
    cfg: TrainConfig
    init_source: str = ""  # the checkpoint the stage starts from ("" = none)
    init_fp16: bool = False  # cfg.init_from is init_source rounded to fp16, written by the runner
    stop_at: int = 0  # 0 = train to cfg.steps
    history: tuple[tuple[TrainConfig, int], ...] = ()  # earlier (config, until step) segments

    @property
    def end(self) -> int:
        return self.stop_at or self.cfg.steps


@dataclass(frozen=True)
class Export:
    name: str
    checkpoint: str = "last"
    settings: dict = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Recipe:
    path: str
    stages: tuple[Stage, ...]
    export: Export | None = None


def load_recipe(path: str | Path, overrides: list[str] = ()) -> Recipe:
    """Read a recipe (``base:`` resolved) into its stages and export. ``key=value`` overrides apply
    to every stage, over the stage's own keys; ``export.KEY=value`` ones to the export section."""
    where = str(path)
    tree = read_recipe(path)
    apply_overrides(tree, [o for o in overrides if o.startswith("export.")])
    overrides = [o for o in overrides if not o.startswith("export.")]
    specs, export = tree.pop("stages", None), tree.pop("export", None)
    if specs is None:
        stages = (Stage("", config_from_dict(apply_overrides(tree, overrides), where)),)
    else:
        stages = _stages(tree, specs, overrides, where)
    return Recipe(where, stages, _export(export, where) if export is not None else None)


def _stages(tree: dict, specs, overrides: list[str], where: str) -> tuple[Stage, ...]:
    if not isinstance(specs, list) or not specs or not all(isinstance(s, dict) for s in specs):
        raise ValueError(f"{where}: stages must be a non-empty list of mappings")
    stages: list[Stage] = []
    for i, spec in enumerate(specs):
        name = str(spec.get("name") or "")
        label = f"{where}: stage {name or i + 1}"
        if not name or "/" in name or name in (s.name for s in stages):
            raise ValueError(f"{label}: each stage needs a unique name without '/'")
        if "out" in spec:
            raise ValueError(f"{label}: a stage cannot set out (it trains in <out>/{name})")
        changes = {k: v for k, v in spec.items() if k not in STAGE_KEYS}
        stage_tree = apply_overrides(copy.deepcopy(merge_trees(tree, changes)), overrides)
        if not stage_tree.get("out"):
            raise ValueError(f"{label}: the recipe needs out (stages train in <out>/<name>)")
        stage_tree["out"] = str(Path(stage_tree["out"]) / name)
        source = _init_source(spec, changes, stage_tree, stages, label)
        fp16 = bool(spec.get("init_fp16", False))
        if fp16 and not source:
            raise ValueError(f"{label}: init_fp16 needs a checkpoint to start from")
        stage_tree["init_from"] = str(Path(stage_tree["out"]) / "init.safetensors") if fp16 else source
        cfg = config_from_dict(stage_tree, label)
        stop_at = int(spec.get("stop_at") or 0)
        if not 0 <= stop_at <= cfg.steps:
            raise ValueError(f"{label}: stop_at {stop_at} must lie within steps ({cfg.steps})")
        history = _history(spec.get("history") or [], stage_tree, label, stop_at or cfg.steps)
        stages.append(Stage(name, cfg, source, fp16, stop_at, history))
    return tuple(stages)


def _init_source(spec: dict, changes: dict, stage_tree: dict, stages: list[Stage], label: str) -> str:
    """The stage's own ``init_from``, else the previous stage's ``init`` checkpoint."""
    which = spec.get("init", "last")
    if which not in CHECKPOINTS:
        raise ValueError(f"{label}: init must be one of {CHECKPOINTS}, got {which!r}")
    if "init_from" in changes or not stages:
        if "init" in spec and not stages:
            raise ValueError(f"{label}: init names a checkpoint of the previous stage; the first has none")
        return str(stage_tree.get("init_from") or "")
    return str(Path(stages[-1].cfg.out) / f"{which}.safetensors")


def _history(items, stage_tree: dict, label: str, end: int) -> tuple[tuple[TrainConfig, int], ...]:
    if not isinstance(items, list) or not all(isinstance(h, dict) and "until" in h for h in items):
        raise ValueError(f"{label}: history must be a list of mappings, each with until")
    out, last = [], 0
    for h in items:
        until = int(h["until"])
        if not last < until < end:
            raise ValueError(f"{label}: history until {until} must rise and stay below {end}")
        bad = sorted(set(h) & {"out", "init_from", *STAGE_KEYS})
        if bad:
            raise ValueError(f"{label}: history cannot change {bad}")
        changes = {k: v for k, v in h.items() if k != "until"}
        out.append((config_from_dict(merge_trees(stage_tree, changes), label), until))
        last = until
    return tuple(out)


def _export(spec, where: str) -> Export:
    if not isinstance(spec, dict) or not spec.get("name"):
        raise ValueError(f"{where}: export must be a mapping with the shipped name")
    unknown = sorted(set(spec) - set(EXPORT_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown export keys {unknown}; valid: {list(EXPORT_KEYS)}")
    if spec.get("checkpoint", "last") not in CHECKPOINTS:
        raise ValueError(f"{where}: export checkpoint must be one of {CHECKPOINTS}")
    settings = spec.get("set") or {}
    if not isinstance(settings, dict):
        raise ValueError(f"{where}: export set must be a mapping of model config fields")
    return Export(str(spec["name"]), spec.get("checkpoint", "last"), dict(settings), str(spec.get("note", "")))


def saved_progress(out: str | Path) -> tuple[int, float]:
    """(step, best metric) of the last checkpoint in ``out``; (0, -1) when there is none."""
    from ocr.engine.checkpoint import read_metadata

    path = Path(out) / "last.state.safetensors"
    if not path.exists():
        return 0, -1.0
    info = json.loads(read_metadata(path)["info"])
    return int(info["step"]), float(info["best"])


def run_stage(stage: Stage, resume: bool = True, device: str = "auto", deadline: float | None = None) -> float:
    """Train one stage (its history segments, then its own keys), resuming from its last
    checkpoint; a finished stage is skipped; training stops at ``deadline`` (``Trainer.fit``).
    Returns the best validation metric."""
    from ocr.engine.export import export_weights
    from ocr.engine.trainer import Trainer

    step, best = saved_progress(stage.cfg.out) if resume else (0, -1.0)
    if step >= stage.end:
        print(f"{f'stage {stage.name}' if stage.name else stage.cfg.out}: done at step {step}, skipped", flush=True)
        return best
    if stage.init_fp16:
        export_weights(stage.init_source, stage.cfg.init_from, note=f"fp16 start of stage {stage.name}")
    for i, (cfg, until) in enumerate((*stage.history, (stage.cfg, stage.end))):
        if step >= until:
            continue
        trainer = Trainer(cfg, device=device)
        if resume or i > 0:
            trainer.resume()
        best = trainer.fit(until=until, deadline=deadline)
        step = trainer.step
        if step < until:  # stopped at the deadline
            break
    return best


def run_recipe(recipe: Recipe, resume: bool = True, device: str = "auto",
               export_dir: str | Path | None = None) -> dict[str, float]:
    """Train every stage in order, then write the export (to the package's weights folder, or
    ``export_dir``). Returns each stage's best validation metric."""
    results = {}
    for stage in recipe.stages:
        results[stage.name] = run_stage(stage, resume=resume, device=device)
    if recipe.export is not None:
        write_export(recipe, export_dir)
    return results


def write_export(recipe: Recipe, export_dir: str | Path | None = None) -> Path:
    """Export the final stage's chosen checkpoint as the recipe's shipped file."""
    from ocr.engine.export import export_weights, shipped_path

    ex = recipe.export
    source = Path(recipe.stages[-1].cfg.out) / f"{ex.checkpoint}.safetensors"
    dest = export_weights(source, shipped_path(ex.name, export_dir), note=ex.note or f"recipe {recipe.path}",
                          settings=ex.settings)
    print(f"exported {source} -> {dest} ({dest.stat().st_size / 2**20:.1f} MB)", flush=True)
    return dest
