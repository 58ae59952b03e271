"""FCENet model: factories, output/loss contract, and a tiny model that overfits a few images."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from shapely.geometry import Polygon

from ocr.data.det_dataset import collate
from ocr.data.det_transforms import normalize_image
from ocr.data.fce_targets import rasterize
from ocr.models.detection import FCENet, FCENetConfig  # importing registers the factories
from ocr.registry import create_model, list_models


def arc(cx, cy, r_in, r_out, a0, a1, m=7):
    t = np.linspace(a0, a1, m)
    top = np.stack([cx + r_out * np.cos(t), cy - r_out * np.sin(t)], 1)[::-1]
    bottom = np.stack([cx + r_in * np.cos(t), cy - r_in * np.sin(t)], 1)
    return np.concatenate([top, bottom]).astype(np.float32)


def tiny(**kw):
    return FCENet(FCENetConfig(backbone="mobilenetv3_small", fpn_channels=32, **kw))


def test_factories_registered_and_config_serialisable():
    names = {e.name for e in list_models("detection")}
    assert {"fcenet_resnet18", "fcenet_resnet50", "fcenet_mobilenetv3"} <= names
    model = create_model("fcenet_mobilenetv3", fourier_degree=3, score_thr=0.4)
    cfg = json.loads(json.dumps(dataclasses.asdict(model.config)))
    assert cfg["fpn_channels"] == 96 and cfg["fourier_degree"] == 3
    assert FCENetConfig(**cfg) == model.config  # lists from JSON become tuples again
    with pytest.raises(TypeError):
        create_model("fcenet_resnet18", no_such_field=1)


def test_forward_loss_postprocess_contract():
    model = tiny(fourier_degree=4)
    out = model(torch.randn(2, 3, 96, 128))
    assert sorted(out) == ["p3", "p4", "p5"]
    assert out["p3"].shape == (2, 4 + 18, 12, 16) and out["p5"].shape == (2, 22, 3, 4)
    targets = {k: torch.zeros(2, 3 + 18, v.shape[2], v.shape[3]) for k, v in out.items()}
    for t in targets.values():
        t[:, 2] = 1
    losses = model.loss(out, targets)  # no text at all: only OHEM negatives
    assert set(losses) == {"loss", "loss_text", "loss_center", "loss_reg_x", "loss_reg_y"}
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    dets = model.postprocess(out, scales=[(1.0, 1.0), (0.5, 0.5)], score_thr=0.99)
    assert len(dets) == 2


def _scenes(size=160, n=2, seed=0):
    """Blank images with a filled quad and a filled curved band each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x, y = rng.uniform(10, size * 0.3), rng.uniform(10, size * 0.2)
        quad = np.array([[x, y], [x + size * 0.45, y + 4], [x + size * 0.45, y + size * 0.15],
                         [x, y + size * 0.13]], np.float32)
        polys = [quad, arc(size * 0.5, size * 0.95, size * 0.3, size * 0.45, 0.6, 2.5)]
        img = np.full((size, size, 3), 230, np.uint8)
        for p in polys:
            img[rasterize((size, size), [p]) > 0] = rng.integers(0, 90, 3)
        out.append((img, polys))
    return out


def _recalibrate_bn(model, images):
    """Exact BN statistics for the final weights (tiny batches leave running stats behind)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(images)


@pytest.fixture
def one_thread():
    """One intra-op thread: on shared, busy cores several threads spin and run far slower."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_tiny_model_overfits_generated_images(one_thread):
    torch.manual_seed(0)
    size, steps = 160, 80
    scenes = _scenes(size)
    model = tiny()
    gen = model.target_generator()
    images, targets = collate([(torch.from_numpy(normalize_image(img)), {k: torch.from_numpy(v) for k, v in
                                                       gen(polys, [False] * len(polys), (size, size)).items()})
                               for img, polys in scenes])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    first = None
    for _ in range(steps):
        losses = model.loss(model(images), targets)
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        sched.step()
        first = first if first is not None else losses["loss"].item()
    assert losses["loss"].item() < 0.05 * first and losses["loss"].item() < 0.1
    _recalibrate_bn(model, images)
    model.eval()
    with torch.no_grad():
        dets = model.postprocess(model(images), scales=[(1.0, 1.0)] * len(scenes))
    for (_, polys), found in zip(scenes, dets):
        assert len(found) == len(polys)
        for gt in polys:
            best = max(Polygon(gt).intersection(Polygon(d["polygon"]).buffer(0)).area /
                       Polygon(gt).union(Polygon(d["polygon"]).buffer(0)).area for d in found)
            assert best > 0.5
