"""A tiny CRNN trains, validates, writes best/last atomically and resumes exactly."""
import csv

import pytest
import torch
from safetensors.torch import load_file

from ocr.engine.config import config_from_dict, load_config
from ocr.engine.trainer import Trainer, lr_at, train
from tests.helpers import make_rec_lmdb

WORDS = ["cat", "dog", "sun", "red", "sky", "hat", "pen", "box"]


def _cfg(tmp_path, out, steps, **kw):
    train_db, val_db = tmp_path / "train", tmp_path / "val"
    if not train_db.exists():
        make_rec_lmdb(train_db, WORDS * 4)
        make_rec_lmdb(val_db, WORDS)
    tree = {"model": "crnn_mobilenet", "task": "recognition", "out": str(tmp_path / out),
            "model_args": {"charset": "lower36", "hidden": 32, "num_layers": 1, "max_width": 128},
            "train": [{"path": str(train_db), "ratio": 1.0, "augment": True}],
            "val": [{"path": str(val_db), "name": "val"}],
            "batch_size": 8, "steps": steps, "lr": 3e-3, "warmup_steps": 2, "val_every": 4,
            "log_every": 2, "save_every": 3, "workers": 0, "amp": "off", "seed": 1, **kw}
    return config_from_dict(tree)


def test_train_writes_logs_and_checkpoints(tmp_path):
    cfg = _cfg(tmp_path, "run", steps=8)
    best = train(cfg, device="cpu")
    out = tmp_path / "run"
    for name in ("best.safetensors", "last.safetensors", "last.state.safetensors", "train_log.csv", "val_log.csv"):
        assert (out / name).exists(), name
    rows = list(csv.DictReader(open(out / "val_log.csv")))
    assert [int(r["step"]) for r in rows] == [4, 8]
    assert 0.0 <= best <= 1.0


def test_resume_is_exact(tmp_path):
    full = Trainer(_cfg(tmp_path, "full", steps=6), device="cpu")
    full.fit()
    Trainer(_cfg(tmp_path, "part", steps=6), device="cpu").fit(until=3)  # "interrupted" at step 3
    resumed = Trainer(_cfg(tmp_path, "part", steps=6), device="cpu")
    assert resumed.resume() and resumed.step == 3
    resumed.fit()
    a = load_file(str(tmp_path / "full" / "last.safetensors"))
    b = load_file(str(tmp_path / "part" / "last.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_lr_schedule_warmup_then_cosine(tmp_path):
    cfg = _cfg(tmp_path, "x", steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.0)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(55, cfg) == pytest.approx(0.5)
    assert lr_at(100, cfg) == pytest.approx(0.0, abs=1e-9)


def test_config_overrides_and_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: crnn_vgg\ntask: recognition\nout: o\ntrain: [a]\nmodel_args: {hidden: 8}\n")
    cfg = load_config(p, ["steps=7", "model_args.hidden=16", "lr=1e-4"])
    assert cfg.steps == 7 and cfg.model_args == {"hidden": 16} and cfg.lr == 1e-4
    with pytest.raises(ValueError, match="unknown keys"):
        load_config(p, ["stepz=3"])


@pytest.mark.parametrize("trailing_pad", [0.0, 2.0])
def test_trailing_pad_recipe_packs_each_crop_and_its_grey(tmp_path, monkeypatch, trailing_pad):
    from ocr.models.recognition.ctc import CRNN

    calls, forward = [], CRNN.forward

    def spy(self, images, widths=None, targets=None):
        if self.training:
            calls.append((images.shape[2], images.shape[3], widths))
            assert targets is not None and len(targets.texts) == images.shape[0]  # labels reach forward
        return forward(self, images, widths, targets)

    monkeypatch.setattr(CRNN, "forward", spy)
    Trainer(_cfg(tmp_path, "pad", steps=2, data_args={"trailing_pad": trailing_pad}), device="cpu").fit()
    assert len(calls) == 2
    for height, width, widths in calls:
        if trailing_pad:
            assert len(widths) == 8 and max(widths) + height <= width  # grey past every read width (edge_grey 1)
        else:
            assert widths is None


def test_a_recipe_trains_with_the_grey_its_model_reads(tmp_path):
    with pytest.raises(ValueError, match="trailing_grey"):
        Trainer(_cfg(tmp_path, "grey", steps=1, data_args={"trailing_pad": 0.5}), device="cpu").fit()
    model_args = {"charset": "lower36", "hidden": 32, "num_layers": 1, "max_width": 128, "trailing_grey": 0.5}
    trainer = Trainer(_cfg(tmp_path, "grey2", steps=1, val=[], data_args={"trailing_pad": 0.5}, model_args=model_args),
                      device="cpu")
    trainer.fit()
    assert trainer.model.config.trailing_grey == 0.5


def test_freeze_norm_stats_keeps_running_statistics(tmp_path):
    def running(trainer):
        return {k: v.clone() for k, v in trainer.model.state_dict().items() if "running_" in k}

    for freeze in (True, False):
        trainer = Trainer(_cfg(tmp_path, f"freeze{freeze}", steps=2, val=[], freeze_norm_stats=freeze), device="cpu")
        before = running(trainer)
        trainer.fit()
        after = running(trainer)
        assert before and all(torch.equal(before[k], after[k]) for k in before) == freeze


def test_freeze_keeps_named_parameters_and_their_norm_statistics(tmp_path):
    trainer = Trainer(_cfg(tmp_path, "frozen", steps=3, val=[], freeze=["backbone."]), device="cpu")
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    after = trainer.model.state_dict()
    backbone = [k for k in before if k.startswith("backbone.")]
    head = [k for k in before if not k.startswith("backbone.") and before[k].is_floating_point()]
    assert backbone and head
    assert all(torch.equal(before[k], after[k]) for k in backbone)  # weights and running statistics
    assert any(not torch.equal(before[k], after[k]) for k in head)
    opt_params = {id(p) for g in trainer.opt.param_groups for p in g["params"]}
    assert all(id(p) not in opt_params for n, p in trainer.model.named_parameters() if n.startswith("backbone."))


def test_freeze_errors_name_the_prefix(tmp_path):
    with pytest.raises(ValueError, match="no parameter of crnn_mobilenet starts with 'encoder.'"):
        Trainer(_cfg(tmp_path, "bad", steps=1, val=[], freeze=["encoder."]), device="cpu")
    with pytest.raises(ValueError, match="freeze must be a list"):
        _cfg(tmp_path, "bad2", steps=1, freeze=[3])
    assert _cfg(tmp_path, "one", steps=1, freeze="backbone.").freeze == ("backbone.",)


def test_width_jitter_from_data_args_reaches_every_training_store(tmp_path):
    from ocr.engine.rec_task import RecognitionTask
    from ocr.registry import create_model

    cfg = _cfg(tmp_path, "jit", steps=1, data_args={"width_jitter": [0.5, 0.7, 1.3]})
    model = create_model(cfg.model, **cfg.model_args)
    loader = RecognitionTask().train_loader(cfg, model, start_step=0)
    sets = loader.dataset.datasets
    assert sets and all((ds.width_jitter.p, ds.width_jitter.lo, ds.width_jitter.hi) == (0.5, 0.7, 1.3) for ds in sets)
    with pytest.raises(ValueError, match="width_jitter"):
        RecognitionTask().train_loader(_cfg(tmp_path, "jit2", steps=1, data_args={"width_jitter": [0.5, 1.2, 1.3]}),
                                       model, start_step=0)
    with pytest.raises(ValueError, match="width_jitter"):
        RecognitionTask().train_loader(_cfg(tmp_path, "jit3", steps=1, data_args={"width_jitter": 0.5}),
                                       model, start_step=0)
