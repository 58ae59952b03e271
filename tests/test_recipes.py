"""Recipes: ``base:`` inheritance, staged training (each stage from the previous one's checkpoint,
stop_at, history, resume and skip), the export, and the shipped recipes in configs/."""
import csv
import dataclasses
import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from ocr.cli import main
from ocr.engine.checkpoint import load_model, read_metadata
from ocr.engine.config import load_config
from ocr.engine.stages import load_recipe, run_recipe, saved_progress
from ocr.engine.trainer import Trainer, lr_at
from tests.test_det_training import _det_store

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _write(path: Path, tree: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def _recipe(tmp_path, stages, export=None, **kw) -> Path:
    """A tiny detection recipe (a base with the model and data, a child with the stages)."""
    db = tmp_path / "det"
    if not db.exists():
        _det_store(db)
    _write(tmp_path / "base" / "tiny.yaml", {
        "model": "fcenet_mobilenetv3", "task": "detection",
        "model_args": {"backbone": "mobilenetv3_small", "fpn_channels": 16},
        "data_args": {"image_size": 64, "test_size": 128},
        "train": [{"path": str(db)}], "batch_size": 2, "steps": 2, "warmup_steps": 1, "lr": 1e-3,
        "val_every": 100, "save_every": 1, "log_every": 1, "workers": 0, "amp": "off"})
    tree = {"base": "base/tiny.yaml", "out": str(tmp_path / "runs"), "stages": stages, **kw}
    if export:
        tree["export"] = export
    return _write(tmp_path / "recipe.yaml", tree)


def test_base_merges_mappings_deeply_and_replaces_lists(tmp_path):
    _write(tmp_path / "a" / "grand.yaml", {"model": "m", "task": "recognition", "out": "o", "steps": 5,
                                             "model_args": {"hidden": 8, "num_layers": 1},
                                             "train": [{"path": "x"}, {"path": "y"}]})
    _write(tmp_path / "a" / "parent.yaml", {"base": "grand.yaml", "model_args": {"hidden": 16}, "lr": 0.5})
    child = _write(tmp_path / "child.yaml", {"base": "a/parent.yaml", "train": [{"path": "z"}], "steps": 9})
    cfg = load_config(child, ["lr=0.25"])
    assert cfg.model_args == {"hidden": 16, "num_layers": 1}
    assert [s.path for s in cfg.train] == ["z"]
    assert (cfg.steps, cfg.lr, cfg.model) == (9, 0.25, "m")


def test_base_cycle_and_missing_base_are_one_line_errors(tmp_path):
    _write(tmp_path / "a.yaml", {"base": "b.yaml", "steps": 1})
    _write(tmp_path / "b.yaml", {"base": "a.yaml", "steps": 2})
    with pytest.raises(ValueError, match=r"cycle .*a\.yaml -> .*b\.yaml -> .*a\.yaml") as e:
        load_config(tmp_path / "a.yaml")
    assert "\n" not in str(e.value)
    _write(tmp_path / "c.yaml", {"base": "nowhere.yaml"})
    with pytest.raises(ValueError, match=r"c\.yaml: base recipe .*nowhere\.yaml not found"):
        load_config(tmp_path / "c.yaml")


def test_bad_stages_and_export_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unique name"):
        load_recipe(_recipe(tmp_path, [{"name": "a"}, {"name": "a"}]))
    with pytest.raises(ValueError, match="stop_at 5 must lie within steps"):
        load_recipe(_recipe(tmp_path, [{"name": "a", "stop_at": 5}]))
    with pytest.raises(ValueError, match="first has none"):
        load_recipe(_recipe(tmp_path, [{"name": "a", "init": "best"}]))
    with pytest.raises(ValueError, match="export checkpoint"):
        load_recipe(_recipe(tmp_path, [{"name": "a"}], export={"name": "x", "checkpoint": "mid"}))
    with pytest.raises(ValueError, match="staged recipe"):
        load_config(_recipe(tmp_path, [{"name": "a"}]))


def test_stages_chain_stop_resume_skip_and_export(tmp_path, capsys):
    path = _recipe(tmp_path, [{"name": "s1", "steps": 2},
                              {"name": "s2", "steps": 4, "stop_at": 2, "init_fp16": True, "seed": 3,
                               "warmup_steps": 0}],
                   export={"name": "tiny_det", "set": {"score_thr": 0.42}})
    recipe = load_recipe(path)
    s1, s2 = recipe.stages
    assert s2.init_source == str(tmp_path / "runs" / "s1" / "last.safetensors")
    Trainer(s1.cfg, device="cpu").fit(until=1)  # an interrupted first run
    assert main(["train", str(path), "--device", "cpu", "--export-dir", str(tmp_path / "ship")]) == 0
    out = capsys.readouterr().out
    assert f"resumed from {tmp_path / 'runs' / 's1' / 'last.state.safetensors'} at step 1" in out
    assert saved_progress(s1.cfg.out)[0] == 2
    # stage 2 started from stage 1's last weights, rounded to fp16 as an exported file is
    s1_last = load_file(str(tmp_path / "runs" / "s1" / "last.safetensors"))
    start = Trainer(s2.cfg, device="cpu").model.state_dict()
    for k, v in s1_last.items():
        expected = v.half().float() if v.is_floating_point() else v
        assert torch.equal(start[k].to(expected.dtype), expected), k
    # stop_at: stopped at step 2 on the 4-step schedule
    assert saved_progress(s2.cfg.out)[0] == 2
    rows = list(csv.DictReader(open(tmp_path / "runs" / "s2" / "train_log.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert float(rows[1]["lr"]) == pytest.approx(lr_at(1, s2.cfg), rel=1e-3)
    assert lr_at(1, s2.cfg) != pytest.approx(lr_at(1, dataclasses.replace(s2.cfg, steps=2)), rel=1e-3)
    # the export: fp16, the final stage's last weights, the config change applied
    shipped = tmp_path / "ship" / "tiny_det.safetensors"
    assert all(v.dtype == torch.float16 for v in load_file(str(shipped)).values() if v.is_floating_point())
    assert load_model(shipped).config.score_thr == pytest.approx(0.42)
    assert json.loads(read_metadata(shipped)["extra"])["source"].endswith("s2/last.safetensors")
    # a rerun trains nothing: both stages are finished
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("last*.safetensors")}
    assert main(["train", str(path), "--device", "cpu", "--export-dir", str(tmp_path / "ship")]) == 0
    out = capsys.readouterr().out
    assert "stage s1: done at step 2, skipped" in out and "stage s2: done at step 2, skipped" in out
    assert before == {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("last*.safetensors")}


def test_history_replays_a_run_resumed_with_another_schedule(tmp_path):
    path = _recipe(tmp_path, [{"name": "s", "steps": 4, "warmup_steps": 0,
                               "history": [{"steps": 8, "until": 2}]}])
    recipe = load_recipe(path)
    (early, until), = recipe.stages[0].history
    assert (early.steps, until) == (8, 2)
    run_recipe(recipe, device="cpu")
    rows = list(csv.DictReader(open(tmp_path / "runs" / "s" / "train_log.csv")))
    lrs = [float(r["lr"]) for r in rows]
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    cfg = recipe.stages[0].cfg
    assert lrs[:2] == pytest.approx([lr_at(0, early), lr_at(1, early)], rel=1e-3)
    assert lrs[2:] == pytest.approx([lr_at(2, cfg), lr_at(3, cfg)], rel=1e-3)
    assert lrs[1] != pytest.approx(lr_at(1, cfg), rel=1e-3)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_recipe_in_configs_loads(path):
    recipe = load_recipe(path)
    assert recipe.stages
    for stage in recipe.stages:
        assert stage.cfg.model and stage.cfg.train and stage.cfg.steps > 0


# The phase files the shipped weights were trained from:
# (steps, stop_at, lr, warmup, val_every, log_every, save_every, seed, threads, freeze_norm_stats,
#  trailing_pad, init (checkpoint of the previous stage, "fp16" when it started from its export))
REC_PHASES = {
    "p1": (3000, 0, 0.001, 100, 400, 50, 250, 0, 1, False, 0.0, ""),
    "p2": (700, 0, 0.0005, 50, 350, 50, 250, 1, 2, False, 0.0, "p1/last"),
    "p3": (3400, 0, 0.0008, 300, 1700, 100, 250, 2, 1, False, 0.0, "p2/last"),
    "p4": (7000, 5500, 0.0006, 200, 3500, 100, 250, 3, 2, False, 0.0, "p3/last"),
    "p5": (2000, 0, 0.0003, 100, 2000, 100, 250, 4, 1, False, 2.0, "p4/last fp16"),
    "p6": (700, 0, 0.0001, 50, 700, 100, 250, 5, 2, True, 2.0, "p5/last"),
    "p7": (3500, 0, 0.0003, 100, 1750, 100, 250, 7, 2, True, 2.0, "p6/last"),
    "p8": (8000, 6000, 0.0003, 100, 2000, 100, 250, 8, 2, True, 2.0, "p7/last fp16"),
    "p9": (2000, 0, 0.0002, 50, 2000, 100, 250, 9, 2, True, 0.5, "p8/last fp16"),
    "p10": (3000, 0, 0.0002, 50, 1500, 100, 250, 10, 2, True, 0.5, "p9/last fp16"),
    "p11": (6000, 0, 0.00015, 50, 2000, 100, 250, 11, 2, True, 0.5, "p10/last fp16"),
    "p12": (5000, 0, 0.00015, 50, 2500, 100, 250, 12, 2, True, 0.5, "p11/last fp16"),
    "p13": (5000, 0, 0.00015, 50, 2500, 100, 250, 13, 2, True, 0.5, "p12/last fp16"),
    "p14": (3000, 0, 0.00015, 50, 1500, 100, 250, 14, 2, True, 0.5, "p13/last fp16"),
    "p16": (4000, 0, 0.00015, 50, 2000, 100, 250, 16, 2, True, 0.5, "p14/last fp16"),
}
DET_PHASES = {
    "p1": (2000, 0, 0.001, 200, 1000, 25, 100, 0, 1, False, 0.0, ""),
    "p2": (4500, 0, 0.001, 200, 1500, 50, 100, 1, 1, False, 0.0, "p1/last"),
    "p4": (3600, 0, 0.0005, 100, 1800, 50, 100, 4, 1, False, 0.0, "p2/best fp16"),
    "p5": (5500, 0, 0.0002, 200, 2750, 50, 100, 5, 2, False, 0.0, "p4/last fp16"),
}
REC_RATIOS = [0.55, 0.08, 0.12, 0.07, 0.08, 0.10]
REC_P7_TRAIN = [(0.40, False), (0.20, False), (0.08, "scene"), (0.14, "scene"), (0.06, True), (0.06, True),
                (0.06, True)]
REC_P8_TRAIN = [("crops_s0", 0.20), ("crops_scene_s1", 0.15), ("crops_photo_s2", 0.20), ("crops_scene_photo_s3", 0.10),
                ("train", 0.07), ("train", 0.12), ("train", 0.05), ("train", 0.05), ("train", 0.06)]
REC_P13_TRAIN = [("crops_s0", 0.16), ("crops_scene_s1", 0.12), ("crops_photo_s2", 0.10), ("crops_scene_photo_s3", 0.07),
                 ("crops_scene_photo_s4", 0.10), ("crops_photo_s5", 0.10)] + REC_P8_TRAIN[4:]
REC_P14_TRAIN = [("crops_s0", 0.16), ("crops_scene_s1", 0.12), ("crops_photo_s2", 0.05), ("crops_scene_photo_s3", 0.04),
                 ("crops_scene_photo_s4", 0.04), ("crops_photo_s5", 0.04), ("crops_scene_photo_s6", 0.10),
                 ("crops_photo_s7", 0.10)] + REC_P8_TRAIN[4:]


def _row(stage, out: str) -> tuple:
    c = stage.cfg
    init = stage.init_source[len(out) + 1:].removesuffix(".safetensors") + (" fp16" if stage.init_fp16 else "")
    return (c.steps, stage.stop_at, c.lr, c.warmup_steps, c.val_every, c.log_every, c.save_every, c.seed,
            c.threads, c.freeze_norm_stats, float(c.data_args.get("trailing_pad", 0.0)), init)


def test_rec_default_stages_are_the_phase_files():
    recipe = load_recipe(CONFIGS / "rec_default.yaml")
    assert {s.name: _row(s, "runs/rec_default") for s in recipe.stages} == REC_PHASES
    for s in recipe.stages:
        c, n = s.cfg, int(s.name[1:])
        assert (c.batch_size, c.weight_decay, c.grad_clip, c.workers, c.amp) == (64, 0.01, 5.0, 1, "auto")
        grey = {"trailing_grey": 0.5} if n >= 9 else {}  # p9 learns to read less grey
        assert c.model_args == {"charset": "ascii95", "img_height": 32, "max_width": 800, "hidden": 256,
                                "num_layers": 2, "max_length": 25, **grey}
        caseless = [t.path for t in c.train if t.caseless]  # from p10 on, SROIE's capitals are caseless
        assert caseless == (["data/real/sroie_crops/train"] if n >= 10 else [])
        if n >= 8:  # the faster trainer's batching; validation shares no source image with training
            edge = 0.0 if n >= 12 else 1.0  # p12 pads no grey past the longest read width, as the reader
            assert (c.data_args["batch_by"], c.data_args["edge_grey"]) == ("width", edge)
            # p13 and p14: two fresh photo-background stores each
            # p16: p14's mix, half its crops read 0.6 to 1.4 times as wide
            mix = {"p13": REC_P13_TRAIN, "p14": REC_P14_TRAIN, "p16": REC_P14_TRAIN}.get(s.name, REC_P8_TRAIN)
            assert c.data_args.get("width_jitter") == ([0.5, 0.6, 1.4] if n >= 16 else None)
            assert [(t.path.split("/")[-1], t.ratio) for t in c.train] == mix
            assert len(c.val) == 7 and not any("iiit5k" in v.path for v in c.val)
            continue
        assert (c.data_args["batch_by"], c.data_args["edge_grey"]) == ("length", 2.0)  # as they ran
        assert len(c.val) == 5
        if s.name != "p7":
            assert [t.ratio for t in c.train] == REC_RATIOS and all(t.augment for t in c.train[1:])
    p7 = {s.name: s for s in recipe.stages}["p7"]
    assert [(t.ratio, t.augment) for t in p7.cfg.train] == REC_P7_TRAIN
    (early, until), = p7.history
    assert (early.steps, until) == (4500, 750)
    assert (recipe.export.name, recipe.export.checkpoint, recipe.export.settings) == ("rec_default", "last", {})


def test_det_default_stages_are_the_phase_files():
    recipe = load_recipe(CONFIGS / "det_default.yaml")
    assert {s.name: _row(s, "runs/det_default") for s in recipe.stages} == DET_PHASES
    sizes = [(s.cfg.data_args["test_size"], s.cfg.data_args.get("scale_base")) for s in recipe.stages]
    assert sizes == [(1024, None), (1024, 1024), (1600, 1024), (1280, 1280)]
    for s in recipe.stages:
        c = s.cfg
        assert (c.batch_size, c.weight_decay, c.grad_clip, c.workers, c.amp) == (8, 0.0001, 5.0, 1, "auto")
        assert [t.ratio for t in c.train] == [0.30, 0.12, 0.10, 0.13, 0.25, 0.10]
    assert recipe.export.settings == {"score_thr": 0.5, "beta": 1.0}
    assert recipe.export.checkpoint == "last"


def test_rec_cppd_trains_its_decoder_on_the_shipped_recognizers_frozen_backbone():
    recipe = load_recipe(CONFIGS / "rec_cppd.yaml")
    c1, c2 = recipe.stages
    c = c1.cfg
    assert c.model == "cppd_resnet_small" and c.freeze == ("backbone.",) and c.freeze_norm_stats
    assert c.init_from == "ocr/assets/weights/rec_default.safetensors" and not c1.init_fp16
    assert (c.model_args["dim"], c.model_args["heads"], c.model_args["dropout"]) == (192, 6, 0.0)
    assert c.model_args["trailing_grey"] == c.data_args["trailing_pad"] == 0.5  # as rec_default's p12
    assert [(t.path.split("/")[-1], t.ratio) for t in c.train] == REC_P8_TRAIN
    assert [t.path for t in c.train if t.caseless] == ["data/real/sroie_crops/train"]
    assert len(c.val) == 7 and not any("iiit5k" in v.path for v in c.val)
    assert (c.steps, c.lr, c.seed, c.batch_size) == (6000, 0.001, 41, 64)
    assert c2.init_source == "runs/rec_cppd/c1/last.safetensors" and c2.cfg.freeze == ("backbone.",)
    assert (c2.cfg.steps, c2.cfg.lr, c2.cfg.seed) == (6000, 0.0007, 42)


def test_rec_lister_trains_its_decoder_on_the_shipped_recognizers_frozen_backbone_and_bilstm():
    from safetensors import safe_open

    from ocr.registry import create_model

    recipe = load_recipe(CONFIGS / "rec_lister.yaml")
    l1, l2 = recipe.stages
    c = l1.cfg
    assert c.model == "lister_resnet_small" and c.freeze == ("backbone.", "rnn.") and c.freeze_norm_stats
    assert c.model_args["max_length"] == 25  # the length benchmark's bins above 25 measure extrapolation
    assert [(t.path.split("/")[-1], t.ratio) for t in c.train] == REC_P8_TRAIN
    assert len(c.val) == 7 and not any("iiit5k" in v.path for v in c.val)
    own = create_model(c.model, **c.model_args).state_dict()
    with safe_open(c.init_from, "pt") as f:  # every frozen tensor comes from the shipped CRNN
        shipped = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    frozen = [k for k in own if k.startswith(c.freeze)]
    assert frozen and all(shipped.get(k) == tuple(own[k].shape) for k in frozen)
    # l2: from l1's last weights, the BiLSTM unfrozen, a sharper aligner; l1 keeps the sharpening it trained with
    assert l2.init_source == "runs/rec_lister/l1/last.safetensors" and l2.cfg.freeze == ("backbone.",)
    assert (l2.cfg.model_args["sharpen"], "sharpen" in c.model_args) == (3.0, False)
    assert (l2.cfg.steps, l2.cfg.lr, l2.cfg.seed) == (6000, 0.0003, 52)


def test_rec_fast_starts_from_every_tensor_of_the_shipped_recognizer_it_keeps():
    from safetensors import safe_open

    from ocr.registry import create_model

    recipe = load_recipe(CONFIGS / "rec_fast.yaml")
    l1, l2 = recipe.stages
    c = l1.cfg
    assert c.model == "crnn_resnet_lite" and c.freeze_norm_stats and not c.freeze
    assert c.init_from == "ocr/assets/weights/rec_default.safetensors"
    own = create_model(c.model, **c.model_args).state_dict()
    with safe_open(c.init_from, "pt") as f:
        shipped = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    assert all(shipped.get(k) == tuple(v.shape) for k, v in own.items())  # nothing starts at random
    assert len(shipped) > len(own)  # the dropped blocks
    assert c.data_args["width_jitter"] == [0.5, 0.6, 1.4] and c.model_args["trailing_grey"] == 0.5
    assert len(c.val) == 7 and not any("iiit5k" in v.path for v in c.val)
    assert (c.steps, c.lr, c.seed) == (4000, 0.0003, 17)
    assert l2.init_source == "runs/rec_fast/l1/last.safetensors"
    assert (l2.cfg.steps, l2.cfg.lr, l2.cfg.seed) == (3000, 0.00015, 18)
    assert recipe.export.name == "rec_fast"
