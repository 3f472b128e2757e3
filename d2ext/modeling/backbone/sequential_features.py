"""torchvision's VGG, AlexNet and MobileNetV3: their ``features`` Sequential as a detectron2 Backbone."""
import math

from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, Backbone
from torch import nn

from .torchvision_models import build_torchvision_model, convert_norm, freeze_children, last_conv_channels

__all__ = ["SequentialFeaturesBackbone", "build_torchvision_vgg_backbone", "build_torchvision_alexnet_backbone",
           "build_torchvision_mobilenet_v3_backbone"]


def _stride(module):
    """How much `module` downsamples: the product of the strides of its convolutions and poolings."""
    stride = 1
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            s = m.stride
            stride *= s[0] if isinstance(s, tuple) else s
    return stride


class SequentialFeaturesBackbone(Backbone):
    """
    The ``features`` Sequential of a torchvision VGG, AlexNet or MobileNetV3, kept under its
    torchvision name (``features.<index>``) so torchvision weights load by name.

    A stage ends where the next module downsamples, and at the last module. Stage "stage<k>" is the
    output at stride 2**k, e.g. VGG-16: stage0 = conv1_2 (64 ch), stage3 = conv4_3 (512 ch, stride 8),
    stage4 = conv5_3, stage5 = pool5 (stride 32); MobileNetV3-Large: stage1..stage5 with 16, 24, 40,
    112 and 960 channels; AlexNet: stage2 (conv1), stage3 (conv2), stage4 (conv5), stage5 (pool5).

    forward: (N, 3, H, W) -> {name: (N, C, ~H/stride, ~W/stride)} for the `out_features`.
    """

    def __init__(self, arch, family, out_features, norm="BN", freeze_at=0):
        """
        Args:
            arch: a torchvision architecture of `family` ("vgg", "alexnet" or "mobilenet_v3").
            out_features: stage names to return.
            norm: see ``convert_norm``.
            freeze_at: the number of leading stages not trained (0: train everything).
        """
        super().__init__()
        self.torchvision_arch = arch  # backbone-only checkpoints of this architecture load here
        self.features = convert_norm(self.build_features(arch, family), norm)
        strides = [_stride(m) for m in self.features]
        self._out_feature_strides, self._out_feature_channels = {}, {}
        stage_ends, stride, channels = {}, 1, 3
        for index, module in enumerate(self.features):
            stride *= strides[index]
            channels = last_conv_channels(module, channels)
            if index + 1 == len(self.features) or strides[index + 1] > 1:
                name = f"stage{int(math.log2(stride))}"
                stage_ends[name] = index
                self._out_feature_strides[name] = stride
                self._out_feature_channels[name] = channels
        unknown = set(out_features) - set(stage_ends)
        if unknown:
            raise ValueError(f"MODEL.TORCHVISION.OUT_FEATURES: {sorted(unknown)} are not stages of {arch}; "
                             f"choose from {list(stage_ends)}.")
        self._out_features = [name for name in stage_ends if name in out_features]
        self._stage_ends = {stage_ends[name]: name for name in self._out_features}
        if freeze_at > 0:
            frozen_end = list(stage_ends.values())[min(freeze_at, len(stage_ends)) - 1]
            freeze_children(self.features, [str(i) for i in range(frozen_end + 1)])

    @staticmethod
    def build_features(arch, family):
        """torchvision's `arch` ``features`` (subclasses modify it)."""
        return build_torchvision_model(arch, family).features

    def forward(self, x):
        outputs = {}
        last = max(self._stage_ends)  # the modules after the last requested stage are not run
        for index, module in enumerate(self.features[: last + 1]):
            x = module(x)
            if index in self._stage_ends:
                outputs[self._stage_ends[index]] = x
        return outputs


def _build(cfg, family):
    return SequentialFeaturesBackbone(cfg.MODEL.TORCHVISION.ARCH, family, cfg.MODEL.TORCHVISION.OUT_FEATURES,
                                      norm=cfg.MODEL.TORCHVISION.NORM, freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT)


@BACKBONE_REGISTRY.register()
def build_torchvision_vgg_backbone(cfg, input_shape: ShapeSpec):
    """MODEL.TORCHVISION.ARCH vgg11, vgg11_bn, vgg16 or vgg16_bn."""
    return _build(cfg, "vgg")


@BACKBONE_REGISTRY.register()
def build_torchvision_alexnet_backbone(cfg, input_shape: ShapeSpec):
    """MODEL.TORCHVISION.ARCH alexnet."""
    return _build(cfg, "alexnet")


@BACKBONE_REGISTRY.register()
def build_torchvision_mobilenet_v3_backbone(cfg, input_shape: ShapeSpec):
    """MODEL.TORCHVISION.ARCH mobilenet_v3_small or mobilenet_v3_large."""
    return _build(cfg, "mobilenet_v3")
