"""SSD's prediction heads: per level, one conv stack for class scores and one for box deltas."""
from detectron2.config import configurable
from detectron2.utils.registry import Registry
from torch import nn
from torchvision.ops.misc import Conv2dNormActivation

from .backbone import init_ssd_convs
from .bottom_up import SSDLITE_BATCH_NORM

__all__ = ["SSD_HEAD_REGISTRY", "SSDHead", "SSDLiteHead", "build_ssd_head"]

SSD_HEAD_REGISTRY = Registry("SSD_HEAD")
SSD_HEAD_REGISTRY.__doc__ = """
SSD heads, built as ``cls(cfg, input_shape, num_anchors)`` with `input_shape` the list of the levels'
ShapeSpecs and `num_anchors` the default boxes per position of each level. forward(list of (N, C_l, H_l, W_l))
returns (class logits, box deltas): lists of (N, A_l * (NUM_CLASSES + 1), H_l, W_l) and (N, A_l * 4, H_l, W_l).
"""


class SSDHead(nn.Module):
    """A 3x3 conv per level for the class logits (``cls_score.<l>``) and one for the box deltas (``bbox_pred.<l>``)."""

    depthwise = False  # initialisation: torchvision's SSD (Xavier) or SSDLite (normal)

    @configurable
    def __init__(self, *, in_channels, num_anchors, num_classes, activation=None):
        """
        Args:
            in_channels (list[int]): channels of each level.
            num_anchors (list[int]): default boxes per position of each level.
            num_classes: object classes; the logits have one more, the background (the last).
            activation: the activation class of SSDLiteHead's depthwise convs (unused here).
        """
        super().__init__()
        self.cls_score = nn.ModuleList(self.predictor(c, a * (num_classes + 1), activation)
                                       for c, a in zip(in_channels, num_anchors))
        self.bbox_pred = nn.ModuleList(self.predictor(c, a * 4, activation) for c, a in zip(in_channels, num_anchors))
        init_ssd_convs(self, depthwise=self.depthwise)

    @staticmethod
    def predictor(in_channels, out_channels, activation):
        return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)

    @classmethod
    def from_config(cls, cfg, input_shape, num_anchors):
        return {"in_channels": [s.channels for s in input_shape], "num_anchors": num_anchors,
                "num_classes": cfg.MODEL.SSD.NUM_CLASSES, "activation": getattr(nn, cfg.MODEL.SSD.ACTIVATION)}

    def forward(self, features):
        return [m(x) for m, x in zip(self.cls_score, features)], [m(x) for m, x in zip(self.bbox_pred, features)]


class SSDLiteHead(SSDHead):
    """SSDHead whose predictors are a depthwise 3x3 conv-BN-activation followed by a 1x1 conv (MobileNetV2 paper, 6.2)."""

    depthwise = True

    @staticmethod
    def predictor(in_channels, out_channels, activation):
        return nn.Sequential(Conv2dNormActivation(in_channels, in_channels, 3, groups=in_channels,
                                                  norm_layer=SSDLITE_BATCH_NORM, activation_layer=activation),
                             nn.Conv2d(in_channels, out_channels, 1))


SSD_HEAD_REGISTRY.register(SSDHead)
SSD_HEAD_REGISTRY.register(SSDLiteHead)


def build_ssd_head(cfg, input_shape, num_anchors):
    """The head named by MODEL.SSD.HEAD_NAME."""
    return SSD_HEAD_REGISTRY.get(cfg.MODEL.SSD.HEAD_NAME)(cfg, input_shape, num_anchors)
