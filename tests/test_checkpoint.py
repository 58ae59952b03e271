import json

import pytest
import torch

from ocr.engine.checkpoint import CheckpointError, load_model, read_metadata, save_model
from ocr.registry import create_model
from ocr.weights import resolve_path


def _tiny():
    return create_model("crnn_mobilenet", charset="lower36", hidden=16, num_layers=1)


def test_roundtrip_is_self_describing(tmp_path):
    torch.manual_seed(0)
    model = _tiny().eval()
    path = save_model(model, tmp_path / "m.safetensors")
    meta = read_metadata(path)
    assert meta["arch"] == "crnn_mobilenet" and json.loads(meta["config"])["charset"] == "lower36"
    loaded = load_model(path)
    x = torch.randn(1, 3, 32, 64)
    assert torch.allclose(model(x), loaded(x), atol=1e-5)


def test_fp16_file_is_smaller_and_close(tmp_path):
    torch.manual_seed(0)
    model = _tiny().eval()
    p32 = save_model(model, tmp_path / "a.safetensors")
    p16 = save_model(model, tmp_path / "b.safetensors", dtype=torch.float16)
    assert p16.stat().st_size < 0.6 * p32.stat().st_size
    x = torch.randn(1, 3, 32, 64)
    assert torch.allclose(model(x), load_model(p16)(x), atol=5e-2)


def test_file_charset_is_embedded(tmp_path):
    f = tmp_path / "cs.txt"
    f.write_text("a\nb\né\n", encoding="utf-8")
    model = create_model("crnn_mobilenet", charset=f"file:{f}", hidden=16, num_layers=1)
    path = save_model(model, tmp_path / "m.safetensors")
    f.unlink()  # the checkpoint must not depend on the charset file any more
    assert load_model(path).tokenizer.charset.chars == "abé"


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="nope.safetensors"):
        load_model(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_model(bad)
    with pytest.raises(CheckpointError, match="shipped"):
        resolve_path("no_such_model")


def test_with_config_changes_settings_and_keeps_weights():
    from ocr.engine.checkpoint import with_config

    model = create_model("fcenet_mobilenetv3", backbone_args={"scale": 0.35}, fpn_channels=16).eval()
    changed = with_config(model, score_thr=0.5, beta=1.0)
    assert changed.config.score_thr == 0.5 and changed.decoder.beta == 1.0
    assert changed.config.fpn_channels == 16 and not changed.training
    for (k, a), (_, b) in zip(model.state_dict().items(), changed.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="no field score_threshold"):
        with_config(model, score_threshold=0.5)
