#!/usr/bin/env python3
"""Train a recipe on one GPU machine within MINUTES of wall clock, data preparation included.

  python tools/gpu_train.py configs/rec_default.yaml 9 --out $OUT        # (tools/gpu_train.sh wraps this)
  python tools/gpu_train.py configs/det_default.yaml 9 --stage p1 --out $OUT
  python tools/gpu_train.py RECIPE 0.5 --device cpu --data DIR workers=2   # key=value overrides every stage

1. The stores are built from the real data (``--data``; default ``shared/data`` or ``../shared/data``)
   with tools/prepare_data.sh, without the synthetic crop stores: the loader's workers (``workers``,
   default all cores but two) render those crops on the fly while the GPU trains. The small
   synthetic scene and page stores of detection recipes are generated first (``--scenes``, ``--pages``).
2. The stages run in order (or only ``--stage NAME``) in ``--runs``; at the deadline, ``--reserve``
   seconds before the budget ends, training stops, saves its last checkpoint and validates.
3. The output folder (``--out``, flat, at most 8 files) receives ``model.safetensors`` (the last
   checkpoint in fp16), ``val_log.csv``, ``train_log.csv`` (of the last stage trained),
   ``config.yaml``, ``run.log`` is written there by tools/gpu_train.sh, and the validation table
   ``table.md``/``table.csv``: per set its count n and metrics, the fixed synthetic curved and
   perspective sets included for recognition.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe")
    p.add_argument("minutes", type=float, help="wall-clock budget of the whole command")
    p.add_argument("overrides", nargs="*", help="key=value applied to every stage")
    p.add_argument("--out", default=os.environ.get("OUT") or "runs/gpu_out", help="flat output folder")
    p.add_argument("--runs", default="runs/gpu", help="where the stages train (checkpoints, full logs)")
    p.add_argument("--stage", default="", help="train only this stage of a staged recipe")
    p.add_argument("--data", default="", help="real data folder (default shared/data or ../shared/data)")
    p.add_argument("--stores", default="data", help="LMDB stores folder (built when missing; the recipes' data/)")
    p.add_argument("--device", default="auto")
    p.add_argument("--reserve", type=float, default=0.0,
                   help="seconds kept after training for validation and copying (default 12%% of the budget, "
                        "at least 20)")
    p.add_argument("--scenes", type=int, default=800, help="synthetic scenes for detection recipes")
    p.add_argument("--pages", type=int, default=300, help="synthetic pages for detection recipes")
    p.add_argument("--synth-val", type=int, default=300, help="crops in each fixed synthetic validation set")
    p.add_argument("--no-real-data", action="store_true", help="build no real stores (use those in --stores)")
    p.add_argument("--no-prepare", action="store_true", help="use the stores in --stores as they are")
    return p.parse_intermixed_args(argv)


def real_data(arg: str) -> Path | None:
    for d in ([arg] if arg else ["shared/data", "../shared/data"]):
        if (ROOT / d).is_dir() or Path(d).is_dir():
            return Path(d) if Path(d).is_dir() else ROOT / d
    if arg:
        raise SystemExit(f"gpu_train: data folder {arg} not found")
    return None


def prepare(a, data: Path | None, detection: bool) -> None:
    """Real stores (when the data is there), the small synthetic det stores, the synthetic val sets."""
    env = dict(os.environ, SYNTH_CROP_STORES="0", SYNTH_VAL=str(a.synth_val),
               SYNTH_SCENES=str(a.scenes if detection else 0), SYNTH_PAGES=str(a.pages if detection else 0),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    if data is None:
        print("gpu_train: no real data folder; using the stores already in", a.stores, flush=True)
        data = Path("/nonexistent")  # every real store must already exist
    subprocess.run(["bash", str(ROOT / "tools/prepare_data.sh"), str(data), a.stores], env=env, check=True)


def collect(stage, out: Path, summaries_text: str) -> None:
    """The flat output folder: fp16 weights, logs, config (table files are written there already)."""
    from ocr.engine.export import export_weights

    src = Path(stage.cfg.out)
    if (src / "last.safetensors").exists():
        export_weights(src / "last.safetensors", out / "model.safetensors", note=f"gpu_train {stage.cfg.out}")
    for name in ("train_log.csv", "val_log.csv", "config.yaml"):
        if (src / name).exists():
            shutil.copy(src / name, out / name)
    print(summaries_text, flush=True)


def main(argv=None) -> int:
    t0 = time.time()
    a = parse(argv)
    budget = a.minutes * 60
    reserve = a.reserve or max(20.0, 0.12 * budget)
    deadline = t0 + budget - reserve
    os.chdir(ROOT)
    from ocr.engine.budget import final_summaries, final_table, for_budget, pick_stages, run_within
    from ocr.engine.stages import load_recipe, saved_progress

    overrides = list(a.overrides)
    if not any(o.startswith("workers=") for o in overrides):
        overrides.append(f"workers={max(1, (os.cpu_count() or 1) - 2)}")
    overrides += [f"out={Path(a.runs) / Path(a.recipe).stem}"]
    recipe = load_recipe(a.recipe, overrides)
    stages = pick_stages(for_budget(recipe, a.stores), a.stage)
    if not a.no_prepare:
        prepare(a, None if a.no_real_data else real_data(a.data), any(s.cfg.task == "detection" for s in stages))
    print(f"gpu_train: {a.recipe}: data ready after {time.time() - t0:.0f} s; training until "
          f"{deadline - t0:.0f} s of {budget:.0f} s", flush=True)
    last = run_within(stages, deadline, device=a.device)
    if last is None:
        raise SystemExit("gpu_train: no stage trained within the budget")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    title = f"{a.recipe}{' stage ' + last.name if last.name else ''}: {saved_progress(last.cfg.out)[0]} steps, " \
            f"validated after {time.time() - t0:.0f} s"
    text = final_table(final_summaries(last, a.device), out, title=title)
    collect(last, out, text)
    print(f"gpu_train: done in {time.time() - t0:.0f} s (budget {budget:.0f} s); results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
