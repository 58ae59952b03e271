"""Training within a wall-clock budget: on-the-fly synthetic crops, the deadline stop, the
validation table, and tools/gpu_train.sh end to end on the CPU."""
import csv
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from ocr.data.images import decode_image
from ocr.data.lmdb_store import LmdbReader
from ocr.data.synth import generate
from ocr.data.synth.stream import SynthCropStream
from ocr.engine.budget import (check_not_validation_seed, final_summaries, final_table, for_budget, on_the_fly,
                               pick_stages)
from ocr.engine.config import DataSource, config_from_dict
from ocr.engine.stages import Stage, load_recipe
from ocr.engine.trainer import Trainer
from ocr.text.charset import load_charset
from tests.helpers import make_rec_lmdb

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["cat", "dog", "sun", "red", "sky", "hat", "pen", "box"]


def _tree(tmp_path, out, steps, train_extra=(), **kw):
    train_db, val_db = tmp_path / "train", tmp_path / "val"
    if not train_db.exists():
        make_rec_lmdb(train_db, WORDS * 4)
        make_rec_lmdb(val_db, WORDS)
    return {"model": "crnn_mobilenet", "task": "recognition", "out": str(tmp_path / out),
            "model_args": {"charset": "ascii95", "hidden": 32, "num_layers": 1, "max_width": 128},
            "train": [{"path": str(train_db), "ratio": 1.0}, *train_extra],
            "val": [{"path": str(val_db), "name": "val"}],
            "batch_size": 8, "steps": steps, "lr": 3e-3, "warmup_steps": 2, "val_every": 1000,
            "log_every": 2, "save_every": 1000, "workers": 0, "amp": "off", "seed": 1, **kw}


def test_stream_renders_the_store_samples_and_is_deterministic(tmp_path):
    store = tmp_path / "crops_scene_s5"
    generate("crops", store, 6, seed=5, workers=1, log=None, geometry="scene")
    labels = LmdbReader(store).labels()
    a, b = (SynthCropStream(load_charset("ascii95"), "scene", seed=5, max_length=100, size=6) for _ in range(2))
    for i in range(6):
        img, text = a.sample(i)
        again, text_b = b.sample(i)
        assert np.array_equal(img, again) and text == text_b
        stored = decode_image(LmdbReader(store).get(i + 1)[0], "store")
        assert text == labels[i] and stored.shape == img.shape  # the store's sample i+1, before JPEG
        assert np.abs(stored.astype(int) - img.astype(int)).mean() < 12
    assert len({a.sample(i)[1] for i in range(6)}) > 1


def test_stream_width_jitter_changes_widths_only_and_repeats():
    from ocr.data.rec_transforms import WidthJitter

    plain = SynthCropStream(load_charset("ascii95"), "plain", seed=3, size=12)
    jit = SynthCropStream(load_charset("ascii95"), "plain", seed=3, size=12, width_jitter=WidthJitter(1.0, 0.6, 1.4))
    for i in range(6):
        (a, ta), (b, tb) = plain.get(i, i), jit.get(i, i)
        assert ta == tb and b.shape[1] == a.shape[1] and torch.equal(b, jit.get(i, i)[0])
        assert 0.55 <= b.shape[2] / a.shape[2] <= 1.45 or a.shape[2] == plain.max_width
    assert any(jit.get(i, i)[0].shape[2] != plain.get(i, i)[0].shape[2] for i in range(6))


def test_stream_drops_labels_outside_the_charset():
    stream = SynthCropStream(load_charset("lower36"), "plain", seed=0, max_length=6)
    for i in range(10):
        _, text = stream.sample(i)
        assert text and len(text) <= 6 and set(text) <= set("abcdefghijklmnopqrstuvwxyz0123456789")


def test_on_the_fly_source_resumes_exactly(tmp_path):
    extra = [{"synth": "crops", "geometry": "scene", "seed": 2, "ratio": 1.0}]
    full = Trainer(config_from_dict(_tree(tmp_path, "full", 6, extra)), device="cpu")
    full.fit()
    Trainer(config_from_dict(_tree(tmp_path, "part", 6, extra)), device="cpu").fit(until=3)
    resumed = Trainer(config_from_dict(_tree(tmp_path, "part", 6, extra)), device="cpu")
    assert resumed.resume() and resumed.step == 3
    resumed.fit()
    a, b = load_file(str(tmp_path / "full" / "last.safetensors")), load_file(str(tmp_path / "part" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_budget_stop_saves_validates_and_writes_the_table(tmp_path):
    cfg = config_from_dict(_tree(tmp_path, "run", 100000))
    trainer = Trainer(cfg, device="cpu")
    t0 = time.time()
    trainer.fit(deadline=t0 + 5)
    assert time.time() - t0 < 30 and 0 < trainer.step < cfg.steps
    out = tmp_path / "run"
    assert (out / "last.safetensors").exists() and (out / "best.safetensors").exists()
    rows = list(csv.DictReader(open(out / "val_log.csv")))
    assert [int(r["step"]) for r in rows] == [trainer.step]
    summaries = final_summaries(Stage("", cfg), device="cpu")
    text = final_table(summaries, tmp_path / "table")
    assert summaries["val"]["n"] == len(WORDS) and "| val | 8 |" in text
    table = list(csv.DictReader(open(tmp_path / "table" / "table.csv")))
    assert table[0]["dataset"] == "val" and float(table[0]["acc36"]) == summaries["val"]["acc36"]


def test_every_recipe_adapts_and_none_trains_on_validation_seeds():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        recipe = for_budget(load_recipe(path), "data", workers=14)
        for stage in recipe.stages:
            assert stage.cfg.workers == 14
            if stage.cfg.task == "recognition":
                assert all(not Path(s.path).name.startswith("crops") for s in stage.cfg.train)
                assert any(s.synth == "crops" for s in stage.cfg.train)
                assert {"synth_curved_val", "synth_perspective_val"} <= {s.name for s in stage.cfg.val}
        assert pick_stages(recipe) == recipe.stages
    with pytest.raises(ValueError, match="no stage 'p99'"):
        pick_stages(load_recipe(ROOT / "configs/rec_default.yaml"), "p99")
    assert on_the_fly(DataSource("data/synth/crops_scene_s1")) == DataSource(synth="crops", geometry="scene", seed=1)
    moved = for_budget(load_recipe(ROOT / "configs/det_default.yaml"), "/big/stores").stages[0].cfg
    assert moved.train[0].path == "/big/stores/real/ic15_det/train" and moved.val[0].path.startswith("/big/stores/")
    bad = config_from_dict({"model": "m", "task": "recognition", "out": "o",
                            "train": [{"synth": "crops", "seed": 9001}]})
    with pytest.raises(ValueError, match="kept for validation"):
        check_not_validation_seed(bad, "r.yaml")


def test_gpu_train_script_end_to_end_on_cpu(tmp_path):
    stores = tmp_path / "data"
    tree = _tree(tmp_path, "unused", 100000, [{"path": str(stores / "synth" / "crops_s3"), "ratio": 1.0}],
                 log_every=1)
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(tree))
    out = tmp_path / "out"
    t0 = time.time()
    # 45 s: data (about 5-11 s here) and 10 s of reserve leave the trainer time for its first steps on a slow hour
    res = subprocess.run(["bash", str(ROOT / "tools/gpu_train.sh"), str(tmp_path / "r.yaml"), "0.75", "--out", str(out),
                          "--reserve", "10", "--stores", str(stores), "--runs", str(tmp_path / "runs"),
                          "--no-real-data", "--synth-val", "12", "--device", "cpu", "workers=1"],
                         capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                         timeout=120)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert time.time() - t0 < 45 + 30  # the budget, plus process start and the last copy (slack for a busy CPU)
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "model.safetensors", "run.log", "table.csv",
                                                     "table.md", "train_log.csv", "val_log.csv"]
    log = (out / "run.log").read_text()
    assert "time budget reached" in log and "rendered on the fly" in log
    table = {r["dataset"]: r for r in csv.DictReader(open(out / "table.csv"))}
    assert {k: int(r["n"]) for k, r in table.items()} == {"val": 8, "synth_curved_val": 12, "synth_perspective_val": 12}
    assert yaml.safe_load((out / "config.yaml").read_text())["train"][1]["synth"] == "crops"
