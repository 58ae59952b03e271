"""CPPD, the parallel decoder: its losses, its one-pass decoding, and a tiny model that overfits."""
import numpy as np
import pytest
import torch

from helpers import assert_reads_words, make_rec_lmdb
from ocr.engine.checkpoint import load_model
from ocr.engine.config import config_from_dict
from ocr.engine.trainer import Trainer
from ocr.models.contract import TextTargets
from ocr.registry import create_model

TINY = dict(charset="lower36", max_length=8, dim=64, heads=4, enc_layers=1, dec_layers=1, dropout=0.0,
            backbone="rec_mobilenetv3_small", backbone_args={"scale": 0.5})
WORDS = ["cab", "deed", "fig", "hijk", "lmnop"]


def test_targets_count_characters_and_mark_the_eos_slot():
    model = create_model("cppd_mobilenet", **TINY)
    tok = model.tokenizer
    slots = torch.zeros(1, 9, len(tok))
    ids = [tok.stoi[c] for c in "deed"] + [tok.eos]
    slots[0, torch.arange(5), torch.tensor(ids)] = 30.0  # a perfect reading of "deed"
    counts = torch.zeros(1, len(tok), 9)
    counts[0, :, 0] = 30.0
    for c, n in (("d", 2), ("e", 2)):
        counts[0, tok.stoi[c]] = 0.0
        counts[0, tok.stoi[c], n] = 30.0
    counts[0, tok.eos] = 0.0
    counts[0, tok.eos, 1] = 30.0
    order = torch.zeros(1, 9, 2)
    order[0, :4, 1], order[0, 4, 0] = 30.0, 30.0
    parts = model.loss({"slots": slots, "counts": counts, "order": order}, TextTargets(["deed"], [64]))
    assert parts["count"] < 1e-6 and parts["order"] < 1e-6
    wrong = slots.roll(1, dims=1)  # every character one slot late
    assert parts["char"] < model.loss({"slots": wrong, "counts": counts, "order": order},
                                      TextTargets(["deed"], [64]))["char"] - 10
    counts[0, tok.stoi["d"]] = 0.0
    counts[0, tok.stoi["d"], 1] = 30.0  # "d" counted once: wrong
    assert model.loss({"slots": slots, "counts": counts, "order": order}, TextTargets(["deed"], [64]))["count"] > 0.1
    assert model.postprocess({"slots": slots})[0][0] == "deed"


def test_label_longer_than_the_slots_is_an_error_not_a_cut():
    model = create_model("cppd_mobilenet", **TINY)
    out = model(torch.zeros(1, 3, 32, 64), targets=TextTargets(["abcdefghijk"], [64]))
    with pytest.raises(ValueError, match="more than max_length 8"):
        model.loss(out, TextTargets(["abcdefghijk"], [64]))


def test_reading_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    model = create_model("cppd_mobilenet", **TINY).eval()
    crop = [np.random.default_rng(1).integers(0, 255, (32, 60, 3), dtype=np.uint8)]
    wide = [np.random.default_rng(2).integers(0, 255, (32, 400, 3), dtype=np.uint8)]
    alone = model(*_batch(crop))["slots"]
    both = model(*_batch(crop + wide))["slots"][:1]
    assert torch.allclose(alone, both, atol=1e-4)


def test_inference_runs_the_learned_queries_self_attention_once_and_reads_the_same():
    torch.manual_seed(0)
    model = create_model("cppd_mobilenet", **{**TINY, "dec_layers": 2}).eval()
    vis, pad = model.visual_tokens(*_batch([np.random.default_rng(i).integers(0, 255, (32, 40 + 30 * i, 3), dtype=np.uint8)
                                            for i in range(3)]))
    with torch.no_grad():
        once = model.decode(model.slot_queries, vis, pad)  # eval: batch-1 queries, expanded at the cross-attention
        model.train()  # no dropout in TINY: the same arithmetic, queries expanded per crop first
        per_crop = model.decode(model.slot_queries, vis, pad)
    assert once.shape == per_crop.shape == (3, 9, 64)
    assert torch.allclose(once, per_crop, atol=1e-6)
    assert not torch.allclose(once[0], once[2], atol=1e-3)  # rows still differ by crop


def test_the_widest_crop_reads_with_its_trailing_grey():
    model = create_model("cppd_mobilenet", **{**TINY, "max_width": 128}).eval()
    wide = [np.full((32, 600, 3), 200, np.uint8)]  # resized to max_width, then grey appended
    batch, read = _batch(wide, max_width=128)
    assert batch.shape[3] > 128 and model(batch, widths=read)["slots"].shape == (1, 9, len(model.tokenizer))


def _batch(crops, max_width=800):
    from ocr.data.rec_transforms import pad_for_reading, resize_crop, to_tensor

    batch, read = pad_for_reading([to_tensor(resize_crop(c, 32, max_width)) for c in crops])
    return batch, read


def test_tiny_cppd_overfits_a_handful_of_words(tmp_path):
    store = make_rec_lmdb(tmp_path / "words", WORDS * 8)
    # batch_by length: with five words, batches of like width would each hold one word
    cfg = config_from_dict({"model": "cppd_mobilenet", "task": "recognition", "out": str(tmp_path / "run"),
                            "model_args": TINY, "data_args": {"trailing_pad": 2.0, "batch_by": "length"}, "train": [store],
                            "batch_size": 10, "steps": 200, "lr": 3e-3, "warmup_steps": 20,
                            "log_every": 100, "save_every": 300, "workers": 0, "amp": "off", "threads": 1})
    Trainer(cfg, device="cpu").fit()
    model = load_model(tmp_path / "run" / "last.safetensors")
    assert_reads_words(model, WORDS)
