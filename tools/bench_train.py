"""Training throughput on CPU: a recipe stage's training steps as the trainer runs them before and
after the speed-ups, side by side in one run, printed as samples/s and as a ratio.

    python tools/bench_train.py [--recipe configs/rec_default.yaml] [--stage p12] [--steps 24]
                                [--threads 2] [--profile] [--curve 300]

The stage (default: the recipe's last, which made the shipped file) is timed two ways. "before"
is the trainer as it ran the shipped recognizer's recipe up to p7: batches of like label length
(``data_args.batch_by: length``), two heights of grey past the longest read width
(``edge_grey: 2``), frozen batch norms run as separate layers (``fold_norms: false``), the BiLSTM
on packed sequences (``CRNN.packed_rnn``). "after" is the trainer as it runs now: frozen norms
folded, the BiLSTM unpacked, batches of like width, and one height of edge grey or the stage's own
where it is thinner (p12: none). Both start from the same weights
(``--init``, default the shipped file the recipe exports, else random) and alternate in rounds,
so a busy machine slows both alike.

Per configuration: samples/s of whole steps (waiting for data included, the recipe's loader
workers), the model's time per step, the time the loop waited for data, the data pipeline's own
cost per batch in one process (decoding, augmentation, resizing, collation), and the share of a
batch's pixels that are image rather than grey. ``--profile`` prints the top operators of each;
``--curve N`` trains each for N steps and prints the mean loss per fifth (accuracy per sample seen).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr.engine.stages import load_recipe  # noqa: E402
from ocr.engine.trainer import Trainer  # noqa: E402

BEFORE = {"fold_norms": False, "data_args": {"batch_by": "length", "edge_grey": 2.0}}
BEFORE_MODEL = {"packed_rnn": True}  # attributes of the model as it was


def stage_config(recipe: str, stage: str, init: str, out: Path):
    """The stage's TrainConfig, without validation, writing nothing but under ``out``."""
    rec = load_recipe(recipe)
    stages = {s.name: s for s in rec.stages}
    if stage not in stages:
        raise SystemExit(f"{recipe}: no stage {stage!r} (stages: {', '.join(stages)})")
    return dataclasses.replace(stages[stage].cfg, init_from=init, out=str(out), val=())


def variant(cfg, changes: dict, out: Path):
    data_args = {**cfg.data_args, **changes.get("data_args", {})}
    return dataclasses.replace(cfg, **{**changes, "data_args": data_args, "out": str(out)})


def after(cfg) -> dict:
    """The trainer now: frozen norms folded, batches of like width, and the stage's edge grey where
    it is thinner than the default one height (p12 trains with none) instead of p1-p7's two."""
    edge = min(float(cfg.data_args.get("edge_grey", 1.0)), 1.0)
    return {"fold_norms": True, "data_args": {"batch_by": "width", "edge_grey": edge}}


class Run:
    """One configuration's trainer and loader, stepped a few at a time."""

    def __init__(self, name: str, cfg, model_attrs: dict | None = None):
        self.name, self.cfg = name, cfg
        self.trainer = Trainer(cfg, device="cpu")
        for key, value in (model_attrs or {}).items():
            if hasattr(self.trainer.model, key):
                setattr(self.trainer.model, key, value)
        self.loader = iter(self.trainer.task.train_loader(cfg, self.trainer.model, 0))
        self.trainer._train_mode()
        self.samples = self.pixels = self.image_pixels = self.timed_steps = 0
        self.model_s = self.wait_s = 0.0
        self.losses: list[float] = []

    def steps(self, n: int, timed: bool = True) -> None:
        tr = self.trainer
        for _ in range(n):
            t0 = time.perf_counter()
            images, targets = tr.task.to_device(next(self.loader), tr.device)
            t1 = time.perf_counter()
            self.losses.append(tr._train_step((images, targets))["loss"])
            tr.step += 1
            t2 = time.perf_counter()
            if timed:
                self.timed_steps += 1
                self.wait_s += t1 - t0
                self.model_s += t2 - t1
                self.samples += images.shape[0]
                self.pixels += images.shape[0] * images.shape[3]
                self.image_pixels += sum(targets.widths)

    def data_ms_per_batch(self, batches: int) -> float:
        """The data pipeline's cost per batch in this process (no worker)."""
        cfg = dataclasses.replace(self.cfg, workers=0)
        it = iter(self.trainer.task.train_loader(cfg, self.trainer.model, 10_000))
        next(it)
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        return (time.perf_counter() - t0) / batches * 1e3

    def row(self, data_ms: float) -> dict:
        n = max(1, self.timed_steps)
        return {"samples_s": self.samples / (self.model_s + self.wait_s), "model_ms": self.model_s / n * 1e3,
                "wait_ms": self.wait_s / n * 1e3, "data_ms": data_ms,
                "image_share": self.image_pixels / max(1, self.pixels)}


def profile(run: Run, steps: int) -> str:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        run.steps(steps, timed=False)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12)


def loss_curve(runs: list[Run], steps: int) -> str:
    """Mean training loss per fifth of ``steps`` for each run (fresh from the same weights)."""
    lines = [f"mean loss per {steps // 5} steps:"]
    for run in runs:
        run.losses.clear()
        run.steps(steps, timed=False)
        means = [float(np.mean(chunk)) for chunk in np.array_split(run.losses, 5)]
        lines.append(f"  {run.name:7s} " + "  ".join(f"{m:.4f}" for m in means))
    return "\n".join(lines)


def default_init(recipe: str) -> str:
    rec = load_recipe(recipe)
    name = rec.export.name if rec.export else ""
    path = Path(__file__).resolve().parents[1] / "ocr" / "assets" / "weights" / f"{name}.safetensors"
    return str(path) if name and path.exists() else ""


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="configs/rec_default.yaml")
    p.add_argument("--stage", default=None, help="the recipe stage to time (default: its last, the shipped file's)")
    p.add_argument("--init", default=None, help="weights both start from (default: the recipe's shipped file)")
    p.add_argument("--steps", type=int, default=24, help="timed steps per configuration")
    p.add_argument("--rounds", type=int, default=4, help="alternations between the configurations")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data-batches", type=int, default=20, help="batches timed for the data pipeline's own cost")
    p.add_argument("--profile", action="store_true", help="print each configuration's top operators")
    p.add_argument("--curve", type=int, default=0, help="then train each N steps and print the loss curve")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse(argv)
    init = default_init(a.recipe) if a.init is None else a.init
    a.stage = a.stage or load_recipe(a.recipe).stages[-1].name
    with tempfile.TemporaryDirectory() as tmp:
        base = stage_config(a.recipe, a.stage, init, Path(tmp) / "base")
        cfgs = {"before": variant(base, BEFORE, Path(tmp) / "before"), "after": variant(base, after(base), Path(tmp) / "after")}
        attrs = {"before": BEFORE_MODEL}
        runs = []
        for name, cfg in cfgs.items():
            runs.append(Run(name, dataclasses.replace(cfg, threads=a.threads), attrs.get(name)))
            runs[-1].steps(a.warmup, timed=False)
        per_round = max(1, a.steps // a.rounds)
        for _ in range(a.rounds):
            for run in runs:
                run.steps(per_round)
        rows = {run.name: run.row(run.data_ms_per_batch(a.data_batches)) for run in runs}
        print(table(rows, a, init))
        if a.profile:
            for run in runs:
                print(f"\n{run.name}: top operators over 5 steps\n{profile(run, 5)}")
        if a.curve:
            fresh = [Run(name, dataclasses.replace(cfg, threads=a.threads, out=str(Path(tmp) / f"curve_{name}")),
                         attrs.get(name)) for name, cfg in cfgs.items()]
            print(loss_curve(fresh, a.curve))
    return 0


def table(rows: dict, a, init: str) -> str:
    base = rows["before"]["samples_s"]
    lines = [f"{a.recipe} stage {a.stage}, {a.threads} threads, {a.steps} steps each, init {init or 'random'}",
             "| config | samples/s | ratio | model ms/step | data wait ms/step | data ms/batch (1 process) | image share of pixels |",
             "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['samples_s']:.1f} | {r['samples_s'] / base:.2f}x | {r['model_ms']:.0f} | "
                     f"{r['wait_ms']:.0f} | {r['data_ms']:.0f} | {r['image_share']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
