"""FCENet: Fourier Contour Embedding for arbitrary-shaped text detection (Zhu et al., CVPR 2021).

backbone (strides 8/16/32) -> FPN -> one head shared by P3..P5. Per level the head predicts
text-region and text-center-region logits (2 + 2 channels, softmax pairs) and the real and
imaginary parts of ``2k+1`` Fourier coefficients per pixel. Each level handles one range of
text size (``config.level_ranges``, ratio of the text's larger box side to the image side).

Interface used by the engine::

    model = create_model("fcenet_resnet50")            # or FCENet(FCENetConfig(...))
    out = model(images)                                 # {"p3": (B, 4 + 2(2k+1), H/8, W/8), ...}
    losses = model.loss(out, targets)                   # {"loss", "loss_text", "loss_center", ...}
    dets = model.postprocess(out, scales=[(sx, sy)])    # [[{"polygon": (N, 2), "score": s}, ...]]
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import nn

from ocr.data.fce_targets import LEVEL_RANGES, FCETargetGenerator, level_name
from ocr.models.backbones import create_backbone
from ocr.models.contract import DetectionModel
from ocr.models.necks import FPN
from ocr.registry import register_model

from .fce_loss import FCELoss
from .fce_postprocess import FCEPostprocessor


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class FCENetConfig:
    """Everything that defines an FCENet; ``dataclasses.asdict`` round-trips through JSON/YAML."""

    backbone: str = "resnet50"
    backbone_args: dict = field(default_factory=dict)  # overrides for create_backbone
    fpn_channels: int = 256
    fourier_degree: int = 5  # k: 2k+1 complex coefficients per pixel
    num_sample_points: int = 50  # contour points compared by the regression loss
    num_reconstr_points: int = 50  # contour points of decoded polygons
    scales: tuple = (8, 16, 32)  # strides of the predicting levels
    level_ranges: tuple = LEVEL_RANGES  # text-size ratio handled by each level
    center_ratio: float = 0.3  # text-center region height / text height (targets)
    ohem_ratio: float = 3.0
    score_thr: float = 0.3
    nms_thr: float = 0.1
    alpha: float = 1.0  # score = text^alpha * center^beta
    beta: float = 2.0
    min_area: float = 4.0  # smallest output polygon, in original pixels^2

    def __post_init__(self):
        object.__setattr__(self, "scales", _freeze(self.scales))
        object.__setattr__(self, "level_ranges", _freeze(self.level_ranges))
        if len(self.scales) != len(self.level_ranges):
            raise ValueError("scales and level_ranges must have the same length")


class FCEHead(nn.Module):
    """Shared per-level prediction: 3x3 conv -> 4 class logits, 3x3 conv -> 2(2k+1) coefficients."""

    def __init__(self, in_channels: int, fourier_degree: int):
        super().__init__()
        self.cls = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.reg = nn.Conv2d(in_channels, 2 * (2 * fourier_degree + 1), 3, padding=1)
        for conv in (self.cls, self.reg):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.cls(x), self.reg(x)], dim=1)  # (B, 4 + 2(2k+1), h, w)


class FCENet(DetectionModel):
    """Backbone + FPN + FCE head. ``forward`` returns raw tensors only (exportable)."""

    def __init__(self, config: FCENetConfig):
        super().__init__()
        self.config = config
        self.backbone = create_backbone(config.backbone, **config.backbone_args)
        strides = [f.stride[0] for f in self.backbone.feature_info]
        missing = [s for s in config.scales if s not in strides]
        if missing:
            raise ValueError(f"backbone {config.backbone!r} has no features at strides {missing}")
        self.feature_indices = [strides.index(s) for s in config.scales]
        in_ch = [self.backbone.feature_info[i].channels for i in self.feature_indices]
        self.neck = FPN(in_ch, config.fpn_channels)
        self.head = FCEHead(config.fpn_channels, config.fourier_degree)
        self.level_names = [level_name(s) for s in config.scales]
        self.criterion = FCELoss(config.fourier_degree, config.num_sample_points, config.ohem_ratio)
        self.decoder = FCEPostprocessor(
            fourier_degree=config.fourier_degree, score_thr=config.score_thr, nms_thr=config.nms_thr,
            alpha=config.alpha, beta=config.beta, num_points=config.num_reconstr_points,
            min_area=config.min_area)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.backbone(images)  # shallow -> deep
        pyramid = self.neck([feats[i] for i in self.feature_indices])
        return {name: self.head(p) for name, p in zip(self.level_names, pyramid)}

    def loss(self, outputs: dict, targets: dict) -> dict[str, torch.Tensor]:
        """``targets``: the per-level maps of :class:`DetLmdbDataset` / :class:`FCETargetGenerator`."""
        return self.criterion(outputs, targets)

    @torch.no_grad()
    def postprocess(self, outputs: dict, scales=None, image_sizes=None, **overrides) -> list[list[dict]]:
        """Polygons in original-image pixels. ``scales[b] = (sx, sy)`` is the resize factor from the
        original image to the network input; ``image_sizes[b] = (h, w)`` clips to the original
        image; ``overrides`` (score_thr, nms_thr, alpha, beta, ...) replace config thresholds."""
        decoder = dataclasses.replace(self.decoder, **overrides) if overrides else self.decoder
        return decoder(outputs, scales, image_sizes)

    def runtime_spec(self) -> dict:
        """How the ONNX file decodes without PyTorch (``ocr.runtime.standalone``)."""
        return {"task": self.task, "decode_options": [], "decoder": self.decoder.spec()}

    def target_generator(self) -> FCETargetGenerator:
        """The target generator matching this model's configuration."""
        c = self.config
        return FCETargetGenerator(c.fourier_degree, c.scales, c.level_ranges, c.center_ratio)


def _build(default: FCENetConfig, overrides: dict) -> FCENet:
    names = {f.name for f in dataclasses.fields(FCENetConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"FCENetConfig has no field(s) {unknown}; valid: {sorted(names)}")
    return FCENet(dataclasses.replace(default, **overrides))


@register_model("detection")
def fcenet_resnet18(**overrides) -> FCENet:
    """FCENet with a ResNet-18 backbone and a 256-channel FPN."""
    return _build(FCENetConfig(backbone="resnet18"), overrides)


@register_model("detection")
def fcenet_resnet50(**overrides) -> FCENet:
    """FCENet with a ResNet-50 backbone and a 256-channel FPN (paper setting, without DCN)."""
    return _build(FCENetConfig(backbone="resnet50"), overrides)


@register_model("detection")
def fcenet_mobilenetv3(**overrides) -> FCENet:
    """FCENet with a MobileNetV3-Large backbone and a light 96-channel FPN."""
    return _build(FCENetConfig(backbone="mobilenetv3_large", fpn_channels=96), overrides)
