"""Backbone registry and feature contract: every registered backbone, tiny inputs, CPU."""
from __future__ import annotations

import dataclasses
import functools
import math

import pytest
import torch

from ocr.models.backbones import (
    FeatureInfo,
    backbone_entries,
    count_params,
    create_backbone,
    list_backbones,
)

DET_SIZE = (64, 64)
REC_SIZE = (32, 64)


def _input_size(name: str) -> tuple[int, int]:
    return REC_SIZE if name in list_backbones("recognition") else DET_SIZE


def _expected_hw(info: FeatureInfo, h: int, w: int) -> tuple[int, int]:
    return math.ceil(h / info.stride[0]), math.ceil(w / info.stride[1])


def _first_weight(model: torch.nn.Module) -> torch.nn.Parameter:
    """Weight of the first conv (the stem), in registration order."""
    return next(p for p in model.parameters() if p.dim() == 4)


@functools.lru_cache(maxsize=None)
def _eval_model(name: str) -> torch.nn.Module:
    """Default-config model in eval mode, shared by the read-only tests (saves init time)."""
    torch.manual_seed(0)
    return create_backbone(name).eval()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one intra-op thread avoids spin-wait contention on busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_registry_names():
    names = set(list_backbones())
    expected = {
        "resnet18", "resnet34", "resnet50", "mobilenetv3_large", "mobilenetv3_small",
        "rec_vgg", "rec_resnet", "rec_resnet_small", "rec_resnet_lite", "rec_mobilenetv3", "rec_svtr_tiny",
    }
    assert expected <= names
    assert set(list_backbones("detection")) | set(list_backbones("recognition")) == names
    assert all(e.doc for e in backbone_entries())


def test_unknown_name_lists_registered():
    with pytest.raises(KeyError) as err:
        create_backbone("no_such_backbone")
    msg = str(err.value)
    assert "no_such_backbone" in msg and "resnet18" in msg and "rec_vgg" in msg


def test_unknown_override_is_an_error():
    with pytest.raises(TypeError, match="valid"):
        create_backbone("rec_vgg", not_a_field=1)


def test_feature_info_is_frozen():
    info = FeatureInfo("c3", 128, (8, 8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.channels = 3


@pytest.mark.parametrize("name", list_backbones())
def test_forward_backward_contract(name):
    """Features match feature_info exactly and gradients reach the stem."""
    model = create_backbone(name, in_chans=3)
    h, w = _input_size(name)
    feats = model(torch.randn(2, 3, h, w))
    assert isinstance(feats, list) and len(feats) == len(model.feature_info)
    for f, info in zip(feats, model.feature_info):
        assert f.shape == (2, info.channels, *_expected_hw(info, h, w)), (name, info)
    assert model.out_channels == model.feature_info[-1].channels
    loss = sum((f * torch.randn_like(f)).sum() for f in feats)
    loss.backward()
    grad = _first_weight(model).grad
    assert grad is not None and grad.abs().sum() > 0
    n = count_params(model)
    print(f"{name}: {n / 1e6:.2f}M params")
    assert n > 0


@pytest.mark.parametrize("name", list_backbones("recognition"))
@pytest.mark.parametrize("h,w", [(48, 40), (64, 36), (32, 30)])
def test_recognition_height_and_width(name, h, w):
    """Any height collapses to 1; width stride 4 with ceil for widths not divisible by 4."""
    with torch.no_grad():
        out = _eval_model(name)(torch.randn(1, 3, h, w))[-1]
    assert out.shape[2:] == (1, math.ceil(w / 4))


@pytest.mark.parametrize("name", list_backbones("recognition"))
def test_recognition_unpooled_height(name):
    """pool_height=False keeps height H/16 and reports stride (16, 4)."""
    model = create_backbone(name, pool_height=False).eval()
    info = model.feature_info[-1]
    assert info.stride == (16, 4)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 16))[-1]
    assert out.shape[1:] == (info.channels, 2, 4)


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_small"])
def test_detection_odd_size_and_gray_input(name):
    model = create_backbone(name, in_chans=1).eval()
    with torch.no_grad():
        feats = model(torch.randn(1, 1, 50, 70))
    for f, info in zip(feats, model.feature_info):
        assert f.shape[2:] == _expected_hw(info, 50, 70)
    assert [i.stride for i in model.feature_info] == [(4, 4), (8, 8), (16, 16), (32, 32)]


def test_overrides_from_yaml_lists():
    model = create_backbone("rec_resnet_small", layers=[1, 1, 1, 1], widths=[16, 32, 48, 64])
    assert model.out_channels == 64 and model.cfg.layers == (1, 1, 1, 1)


@pytest.mark.parametrize(
    "name,lo,hi",
    [("rec_vgg", 3e6, 8e6), ("rec_resnet_small", 3e6, 6e6), ("rec_resnet_lite", 2.5e6, 4e6),
     ("rec_mobilenetv3", 1e6, 3e6),
     ("rec_svtr_tiny", 2e6, 6e6)],
)
def test_param_budgets(name, lo, hi):
    assert lo <= count_params(_eval_model(name)) <= hi


def test_lite_resnet_is_the_small_one_less_its_last_deep_blocks():
    """Every tensor of rec_resnet_lite has its name and shape in rec_resnet_small, so a fine-tune
    starts from the small one's weights; fewer blocks make it cheaper per column."""
    small, lite = _eval_model("rec_resnet_small"), _eval_model("rec_resnet_lite")
    big = small.state_dict()
    assert all(k in big and big[k].shape == v.shape for k, v in lite.state_dict().items())
    assert count_params(lite) < 0.7 * count_params(small)
    x = torch.randn(2, 3, 32, 96)
    assert lite(x)[-1].shape == small(x)[-1].shape == (2, 256, 1, 24)
