"""The training loop shared by every task: AMP, clipping, warmup + cosine, validation, atomic
best/last checkpoints, exact resume, CSV logs, progress with samples/s, and DDP under torchrun."""
from __future__ import annotations

import csv
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from ocr.devices import resolve_device
from ocr.engine.checkpoint import load_train_state, save_model, save_train_state
from ocr.engine.config import TrainConfig, config_to_dict
from ocr.engine.distill import Teacher
from ocr.engine.frozen_norms import fold_frozen_norms, freeze_norm_stats
from ocr.engine.tasks import get_task
from ocr.registry import create_model


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup then cosine decay to ``min_lr_ratio * lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def amp_dtype_for(cfg: TrainConfig, device: torch.device):
    if cfg.amp == "off":
        return None
    if cfg.amp == "fp16" or (cfg.amp == "auto" and device.type == "cuda" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


class _Dist:
    """torchrun environment (single process when WORLD_SIZE is unset)."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if self.world > 1:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            torch.distributed.init_process_group(backend)

    @property
    def main(self) -> bool:
        return self.rank == 0


class Trainer:
    def __init__(self, cfg: TrainConfig, device: str = "auto"):
        self.cfg, self.dist = cfg, _Dist()
        self.device = torch.device(resolve_device(device, self.dist.local_rank))
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.out = Path(cfg.out)
        self.task = get_task(cfg.task)
        self.amp_dtype = amp_dtype_for(cfg, self.device)
        self._seed_all(cfg.seed + self.dist.rank)
        self.model = create_model(cfg.model, **cfg.model_args).to(self.device)
        self.channels_last = self.device.type == "cpu"  # oneDNN's fast bf16/fp32 conv layout on CPU
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if cfg.init_from:
            self._init_from(cfg.init_from)
        if cfg.freeze_norm_stats and cfg.fold_norms:
            fold_frozen_norms(self.model)
        self._freeze(cfg.freeze)
        self.teacher = Teacher(cfg.distill_from, self.model, self.device, cfg.distill_temperature) if cfg.distill_from else None
        trained = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in trained if p.ndim > 1]
        no_decay = [p for p in trained if p.ndim <= 1]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                      {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
        self.scaler = torch.amp.GradScaler(enabled=self.amp_dtype == torch.float16 and self.device.type == "cuda")
        self.step, self.best, self.samples_seen = 0, -1.0, 0
        self.validated_at = -1
        self.net = self.model
        if self.dist.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    @staticmethod
    def _seed_all(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _init_from(self, path: str) -> None:
        from ocr.engine.checkpoint import _read_tensors

        state = {k: v.float() for k, v in _read_tensors(Path(path)).items()}
        own = self.model.state_dict()
        usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        self.model.load_state_dict(usable, strict=False)
        print(f"init_from {path}: loaded {len(usable)}/{len(own)} tensors", flush=True)

    def _freeze(self, prefixes: tuple[str, ...]) -> None:
        """Keep the parameters named by ``prefixes`` fixed: no gradient flows into them (a frozen
        backbone costs its forward pass only). The modules inside the frozen part also run in
        evaluation mode while training (``_train_mode``): batch norms keep their running statistics
        and dropout is off, so the frozen part computes exactly what it computed before."""
        if not prefixes:
            return
        names = [n for n, _ in self.model.named_parameters()]
        for prefix in prefixes:
            if not any(n.startswith(prefix) for n in names):
                raise ValueError(f"freeze: no parameter of {self.cfg.model} starts with {prefix!r}")
        frozen = 0
        for n, p in self.model.named_parameters():
            if n.startswith(prefixes):
                p.requires_grad_(False)
                frozen += p.numel()
        print(f"freeze {', '.join(prefixes)}: {frozen} of {sum(p.numel() for p in self.model.parameters())} "
              "parameters kept fixed", flush=True)

    # ---- checkpoints -------------------------------------------------------------------------
    def resume(self) -> bool:
        """Continue from ``out/last.*`` if present: weights, optimizer, RNG, step, data position."""
        state_path = self.out / "last.state.safetensors"
        if not state_path.exists():
            return False
        info = load_train_state(state_path, self.opt, self.model)
        self.step, self.best, self.samples_seen = info["step"], info["best"], info["samples_seen"]
        random.setstate(_tuple_state(info["py_random"]))
        np.random.set_state(_np_state(info["np_random"]))
        if self.dist.main:
            for log in ("train_log.csv", "val_log.csv"):
                _drop_rows_after(self.out / log, self.step)
            print(f"resumed from {state_path} at step {self.step}", flush=True)
        return True

    def save_last(self) -> None:
        if not self.dist.main:
            return
        save_model(self.model, self.out / "last.safetensors")
        info = {"step": self.step, "best": self.best, "samples_seen": self.samples_seen,
                "py_random": random.getstate(), "np_random": _np_state_json(np.random.get_state())}
        save_train_state(self.out / "last.state.safetensors", self.opt, info, self.model)

    # ---- loop --------------------------------------------------------------------------------
    def fit(self, until: int | None = None, deadline: float | None = None) -> float:
        """Train to ``cfg.steps`` (or stop early at step ``until``, saving a last checkpoint). At
        ``deadline`` (a ``time.time()``) it stops, saves a last checkpoint and validates."""
        cfg = self.cfg
        stop = min(cfg.steps, until or cfg.steps)
        self.out.mkdir(parents=True, exist_ok=True)
        if self.dist.main:
            (self.out / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
        loader = self.task.train_loader(cfg, self.model, self.step, self.dist.rank)
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not self.dist.main, dynamic_ncols=True,
                   mininterval=5.0)
        t0, n0 = time.time(), 0
        self._train_mode()
        it = iter(loader)
        while self.step < stop:
            if deadline is not None and time.time() >= deadline:
                self._stop_at_deadline()
                break
            batch = self.task.to_device(next(it), self.device)
            loss_parts = self._train_step(batch)
            self.step += 1
            n = self.task.batch_size_of(batch) * self.dist.world
            self.samples_seen += n
            n0 += n
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                rate = n0 / max(1e-9, time.time() - t0)
                self._log_train(loss_parts, rate)
                bar.set_postfix(loss=f"{loss_parts['loss']:.4f}", samples_s=f"{rate:.0f}")
                t0, n0 = time.time(), 0
            bar.update(1)
            if self.step % cfg.val_every == 0 or self.step == cfg.steps:
                self._validate()
            if self.step % cfg.save_every == 0 or self.step in (cfg.steps, stop):
                self.save_last()
        bar.close()
        return self.best

    def _stop_at_deadline(self) -> None:
        tqdm.write(f"time budget reached at step {self.step}: saving and validating")
        self.save_last()
        if self.validated_at != self.step:
            self._validate()

    def _train_step(self, batch) -> dict[str, float]:
        images, targets = batch
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        self.opt.zero_grad(set_to_none=True)
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, self.cfg)
        with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):
            kwargs = self.task.forward_kwargs(targets)
            outputs = self.net(images, **kwargs)
            taught = self.teacher.logits(images, kwargs) if self.teacher else None
        parts = self.model.loss(outputs, targets)
        if taught is not None:
            parts["distill"] = self.teacher.loss(outputs, taught, targets.widths)
            parts["loss"] = parts["loss"] + self.cfg.distill_weight * parts["distill"]
        loss = parts["loss"]
        if not torch.isfinite(loss):
            print(f"step {self.step}: non-finite loss {loss.item()}, batch skipped", flush=True)
            return {k: float(v) for k, v in parts.items()}
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.opt)
        gnorm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        out = {k: float(v.detach()) for k, v in parts.items()}
        out["grad_norm"] = float(gnorm)
        return out

    def _log_train(self, parts: dict, rate: float) -> None:
        if not self.dist.main:
            return
        row = {"step": self.step, "lr": f"{lr_at(self.step - 1, self.cfg):.3e}",
               "samples_per_s": f"{rate:.1f}", **{k: f"{v:.5f}" for k, v in parts.items()}}
        _append_csv(self.out / "train_log.csv", row)

    def _train_mode(self) -> None:
        """Training mode; with ``freeze_norm_stats`` batch norms normalise with their running
        statistics, as at test time (their scale and shift still learn). Batches of short crops
        are mostly padding, so their batch statistics differ from the running ones."""
        self.net.train()
        if self.cfg.freeze_norm_stats:
            freeze_norm_stats(self.model)
        if self.cfg.freeze:
            for name, module in self.model.named_modules():
                if name and f"{name}.".startswith(self.cfg.freeze):
                    module.eval()

    def _validate(self) -> None:
        if not self.dist.main or not self.cfg.val:
            return
        summaries = self.task.validate(self.model, self.cfg, self.device, self.amp_dtype)
        self.validated_at = self.step
        self._train_mode()
        key = self.task.key_metric
        score = float(np.mean([s[key] for s in summaries.values()]))
        for name, s in summaries.items():
            _append_csv(self.out / "val_log.csv", {"step": self.step, "dataset": name,
                                                     **{k: f"{v:.5f}" if isinstance(v, float) else v
                                                        for k, v in s.items() if not k.startswith("acc36_len")}})
        text = ", ".join(f"{n}: {s[key]:.4f}" for n, s in summaries.items())
        tqdm.write(f"step {self.step} val {key} mean {score:.4f} ({text})")
        if score > self.best:
            self.best = score
            save_model(self.model, self.out / "best.safetensors", extra={"step": self.step, key: score})


def _append_csv(path: Path, row: dict) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def _drop_rows_after(path: Path, step: int) -> None:
    """Forget log rows written after the step a run resumes from (they will be written again)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= step]
    if len(keep) < len(rows):
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(keep)
        os.replace(tmp, path)


def _tuple_state(obj):
    return tuple(_tuple_state(x) if isinstance(x, list) else x for x in obj)


def _np_state_json(state) -> list:
    return [state[0], state[1].tolist(), int(state[2]), int(state[3]), float(state[4])]


def _np_state(obj) -> tuple:
    return (obj[0], np.asarray(obj[1], dtype=np.uint32), obj[2], obj[3], obj[4])


def train(cfg: TrainConfig, resume: bool = True, device: str = "auto") -> float:
    """Train (resuming from ``cfg.out`` when it holds a last checkpoint). Returns the best metric."""
    trainer = Trainer(cfg, device=device)
    if resume:
        trainer.resume()
    return trainer.fit()
