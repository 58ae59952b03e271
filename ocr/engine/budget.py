"""Training a recipe within a wall-clock budget, as on a rented GPU machine for a few minutes.

``for_budget`` adapts a recipe: synthetic crop stores (``data/synth/crops[_GEOMETRY][_photo]_sSEED``,
``_photo``: drawn on the photo-background pool ``data/synth/photo_bg`` beside them) are rendered on
the fly by the loader's workers instead of read, and recognition stages are also
validated on the fixed synthetic sets (``SYNTH_VAL``, seeds no recipe trains on). ``run_within``
trains the stages in order until a deadline (a stage stopped there saves and validates), and
``final_table`` writes the last validation of the last stage trained, one row per set with its
count, as ``table.md`` and ``table.csv``.
"""
from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

from ocr.engine.config import DataSource, TrainConfig
from ocr.engine.stages import Recipe, Stage, run_stage, saved_progress

SYNTH_VAL = {  # name: (geometry, seed)
    "synth_curved_val": ("curved", 9001),
    "synth_perspective_val": ("perspective", 9002),
}
VAL_SEEDS = {seed for _, seed in SYNTH_VAL.values()}
_CROPS_STORE = re.compile(r"crops(?:_(?!photo_)([a-z]+))?(_photo)?_s(\d+)$")
PHOTO_POOL = "photo_bg"  # the photo-background pool's folder, beside the synthetic stores


def synth_val_path(data_dir: str | Path, name: str) -> Path:
    geometry, seed = SYNTH_VAL[name]
    return Path(data_dir) / "synth" / f"val_{geometry}_s{seed}"


def on_the_fly(src: DataSource) -> DataSource:
    """A train entry reading a synthetic crop store, as the same crops rendered on the fly."""
    m = _CROPS_STORE.match(Path(src.path).name)
    if src.synth or Path(src.path).parent.name != "synth" or not m:
        return src
    photo_bg = str(Path(src.path).parent / PHOTO_POOL) if m.group(2) else ""
    return dataclasses.replace(src, path="", synth="crops", geometry=m.group(1) or "plain", seed=int(m.group(3)),
                               photo_bg=photo_bg)


def relocate(src: DataSource, data_dir: str | Path) -> DataSource:
    """A store under the recipes' ``data/`` folder, read from ``data_dir`` instead."""
    parts = Path(src.path).parts
    if not parts or parts[0] != "data" or Path(data_dir) == Path("data"):
        return src
    return dataclasses.replace(src, path=str(Path(data_dir, *parts[1:])))


def check_not_validation_seed(cfg: TrainConfig, where: str) -> None:
    for src in cfg.train:
        seed = src.seed if src.synth else int(m.group(3)) if (m := _CROPS_STORE.match(Path(src.path).name)) else None
        if seed in VAL_SEEDS:
            raise ValueError(f"{where}: train entry {src.path or src.synth} uses seed {seed}, kept for validation")


def for_budget(recipe: Recipe, data_dir: str | Path = "data", render: bool = True,
               synth_val: bool = True, **changes) -> Recipe:
    """``recipe`` with crop stores rendered on the fly (``render``), the stores of ``data/`` read
    from ``data_dir``, the synthetic validation sets added to recognition stages (``synth_val``)
    and config ``changes`` (e.g. ``workers``)."""
    extra = tuple(DataSource(path=str(synth_val_path(data_dir, n)), name=n) for n in SYNTH_VAL)

    def adapt(cfg: TrainConfig) -> TrainConfig:
        check_not_validation_seed(cfg, recipe.path)
        train, val = (tuple(relocate(s, data_dir) for s in group) for group in (cfg.train, cfg.val))
        train = tuple(on_the_fly(s) for s in train) if render and cfg.task == "recognition" else train
        val = val + extra if synth_val and cfg.task == "recognition" else val
        return dataclasses.replace(cfg, train=train, val=val, **changes)

    stages = tuple(dataclasses.replace(s, cfg=adapt(s.cfg), history=tuple((adapt(c), u) for c, u in s.history))
                   for s in recipe.stages)
    return dataclasses.replace(recipe, stages=stages)


def pick_stages(recipe: Recipe, name: str = "") -> tuple[Stage, ...]:
    """All stages, or the one named ``name``."""
    if not name:
        return recipe.stages
    chosen = tuple(s for s in recipe.stages if s.name == name)
    if not chosen:
        raise ValueError(f"{recipe.path}: no stage {name!r}; stages: {', '.join(s.name for s in recipe.stages) or '(none)'}")
    return chosen


def run_within(stages: tuple[Stage, ...], deadline: float, device: str = "auto") -> Stage | None:
    """Train ``stages`` in order (each resumes, a finished one is skipped) until ``deadline``.
    Returns the last stage that holds a checkpoint."""
    import time

    last = None
    for stage in stages:
        if time.time() >= deadline:
            print(f"time budget spent: stage {stage.name or stage.cfg.out} not started", flush=True)
            break
        if stage.cfg.init_from and not Path(stage.init_source or stage.cfg.init_from).exists():
            print(f"stage {stage.name}: its start {stage.init_source or stage.cfg.init_from} does not exist; "
                  "stopping", flush=True)
            break
        run_stage(stage, device=device, deadline=deadline)
        last = stage
        if saved_progress(stage.cfg.out)[0] < stage.end:  # stopped at the deadline
            break
    return last


def final_summaries(stage: Stage, device: str = "auto") -> dict[str, dict]:
    """Per validation set, the metrics of the stage's last checkpoint: read from ``val_log.csv``
    when it validated at that step, else computed now."""
    step, _ = saved_progress(stage.cfg.out)
    log = Path(stage.cfg.out) / "val_log.csv"
    rows = [r for r in csv.DictReader(open(log))] if log.exists() else []
    at_step = {r.pop("dataset"): r for r in rows if int(r.pop("step")) == step}
    if at_step or not stage.cfg.val:
        return {name: {k: _number(v) for k, v in r.items()} for name, r in at_step.items()}
    from ocr.engine.trainer import Trainer

    trainer = Trainer(stage.cfg, device=device)
    trainer.resume()
    return trainer.task.validate(trainer.model, stage.cfg, trainer.device, trainer.amp_dtype)


def final_table(summaries: dict[str, dict], out_dir: str | Path, title: str = "") -> str:
    """Write ``table.md`` and ``table.csv`` (one row per set: n and its metrics); returns the text."""
    cols = [k for k in next(iter(summaries.values()), {}) if not k.startswith("acc36_len")]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "table.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", *cols])
        w.writerows([name, *(s.get(c, "") for c in cols)] for name, s in summaries.items())
    lines = [f"# {title}", ""] if title else []
    lines += ["| dataset | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_cell(s.get(c, "")) for c in cols) + " |" for name, s in summaries.items()]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    return text


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _cell(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)
