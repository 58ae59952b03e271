"""Text detection models. Importing this package registers the FCENet factories."""
from .fce_loss import FCELoss
from .fce_postprocess import FCEPostprocessor
from .fcenet import FCEHead, FCENet, FCENetConfig, fcenet_mobilenetv3, fcenet_resnet18, fcenet_resnet50

__all__ = ["FCEHead", "FCELoss", "FCENet", "FCENetConfig", "FCEPostprocessor", "fcenet_mobilenetv3",
           "fcenet_resnet18", "fcenet_resnet50"]
