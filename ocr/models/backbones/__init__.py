"""Pluggable backbones, picked by name from a model config.

Detection (features at strides 4/8/16/32): ``resnet18``, ``resnet34``, ``resnet50``,
``mobilenetv3_large``, ``mobilenetv3_small``.
Recognition (one feature, height 1, width stride 4): ``rec_vgg``, ``rec_resnet``,
``rec_resnet_small``, ``rec_mobilenetv3``, ``rec_mobilenetv3_small``, ``rec_svtr_tiny``.

See :mod:`ocr.models.backbones.base` for the ``feature_info`` contract.
"""
from .base import (
    Backbone,
    BackboneEntry,
    FeatureInfo,
    backbone_entries,
    count_params,
    create_backbone,
    list_backbones,
    register_backbone,
)

# Importing the families registers their factories.
from . import mobilenetv3, resnet, resnet_str, vgg, vit  # noqa: E402,F401

__all__ = [
    "Backbone",
    "BackboneEntry",
    "FeatureInfo",
    "backbone_entries",
    "count_params",
    "create_backbone",
    "list_backbones",
    "register_backbone",
]
