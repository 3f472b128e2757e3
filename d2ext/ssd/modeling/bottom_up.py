"""The bottom-up networks of torchvision's SSD models, as detectron2 Backbones that load torchvision's weights by name."""
from functools import partial

from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY
from torch import nn

from ...modeling.backbone import SequentialFeaturesBackbone, build_torchvision_model
from ...utils.private_apis import is_downsampling_inverted_residual

__all__ = ["SSDVGGBottomUp", "SSDLiteMobileNetV3BottomUp", "SSDLITE_BATCH_NORM", "build_ssd_vgg_bottom_up",
           "build_ssdlite_mobilenet_v3_bottom_up"]

# The BatchNorm of torchvision's SSDLite (backbone, extra layers and head).
SSDLITE_BATCH_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)


class SSDVGGBottomUp(SequentialFeaturesBackbone):
    """
    VGG as the SSD paper changes it: pool3 rounds up (a 300 input gives conv4_3 38x38), pool5 is 3x3 with
    stride 1, and fc6 (3x3, dilation 6) and fc7 (1x1) are convolutions with 1024 channels appended to
    ``features`` (``features.<i>`` of torchvision's VGG keep their indices, so ImageNet VGG weights load).

    Stages: "stage3" = conv4_3 (512 channels, stride 8), "stage4" = fc7 (1024 channels, stride 16).
    """

    @staticmethod
    def build_features(arch, family):
        features = build_torchvision_model(arch, family).features
        pools = [i for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
        features[pools[2]].ceil_mode = True
        features[pools[4]] = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        fc = [nn.Conv2d(512, 1024, kernel_size=3, padding=6, dilation=6), nn.Conv2d(1024, 1024, kernel_size=1)]
        for conv in fc:  # as torchvision initialises them
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
        return nn.Sequential(*features, fc[0], nn.ReLU(inplace=True), fc[1], nn.ReLU(inplace=True))


class SSDLiteMobileNetV3BottomUp(SequentialFeaturesBackbone):
    """
    MobileNetV3 for SSDLite (MobileNetV3 paper, section 6.3): besides its stages ("stage1".."stage5"),
    "c4_expansion" is the output of the expansion conv of the last strided block (stride 16; 672
    channels for mobilenet_v3_large), where SSDLite's first level sits. BatchNorm as torchvision's SSDLite
    (eps 0.001, momentum 0.03); `reduced_tail` halves the channels of the last stage, as torchvision does
    for its SSDLite320 model trained from scratch.
    """

    C4_EXPANSION = "c4_expansion"

    def __init__(self, arch, out_features, norm="BN", freeze_at=0, reduced_tail=False):
        self._reduced_tail = reduced_tail
        stage_features = [name for name in out_features if name != self.C4_EXPANSION]
        super().__init__(arch, "mobilenet_v3", stage_features or ["stage5"], norm=norm, freeze_at=freeze_at)
        # The last block that downsamples starts C5.
        self._c4_block = [i for i, block in enumerate(self.features) if is_downsampling_inverted_residual(block)][-1]
        if self.C4_EXPANSION in out_features:
            expansion = self.features[self._c4_block].block[0]
            self._out_features = [self.C4_EXPANSION, *stage_features]
            self._out_feature_channels[self.C4_EXPANSION] = expansion.out_channels
            self._out_feature_strides[self.C4_EXPANSION] = self._out_feature_strides["stage4"]
        self._last = max([*self._stage_ends, self._c4_block])

    def build_features(self, arch, family):
        return build_torchvision_model(arch, family, norm_layer=SSDLITE_BATCH_NORM, reduced_tail=self._reduced_tail).features

    def forward(self, x):
        outputs = {}
        for index, module in enumerate(self.features[: self._last + 1]):
            if index == self._c4_block:  # the block downsamples without a residual: its layers run in sequence
                x = module.block[0](x)
                outputs[self.C4_EXPANSION] = x
                x = module.block[1:](x)
            else:
                x = module(x)
            if index in self._stage_ends:
                outputs[self._stage_ends[index]] = x
        return {name: outputs[name] for name in self._out_features}


@BACKBONE_REGISTRY.register()
def build_ssd_vgg_bottom_up(cfg, input_shape: ShapeSpec):
    """MODEL.TORCHVISION.ARCH vgg16 (or another VGG) as SSD's bottom-up network (SSDVGGBottomUp)."""
    return SSDVGGBottomUp(cfg.MODEL.TORCHVISION.ARCH, "vgg", cfg.MODEL.SSD.IN_FEATURES,
                          norm=cfg.MODEL.TORCHVISION.NORM, freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT)


@BACKBONE_REGISTRY.register()
def build_ssdlite_mobilenet_v3_bottom_up(cfg, input_shape: ShapeSpec):
    """MODEL.TORCHVISION.ARCH mobilenet_v3_large/small as SSDLite's bottom-up network (SSDLiteMobileNetV3BottomUp)."""
    return SSDLiteMobileNetV3BottomUp(cfg.MODEL.TORCHVISION.ARCH, cfg.MODEL.SSD.IN_FEATURES, norm=cfg.MODEL.TORCHVISION.NORM,
                                      freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT, reduced_tail=cfg.MODEL.SSD.REDUCED_TAIL)
