"""torchvision's ResNet-18/34/50/101 as a detectron2 Backbone, alone or under an FPN."""
from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, Backbone
from torch import nn

from .torchvision_models import build_torchvision_model, convert_norm, freeze_children, last_conv_channels

__all__ = ["TorchvisionResNet", "build_torchvision_resnet_backbone", "torchvision_resnet_from_config"]

_STEM = ("conv1", "bn1", "relu", "maxpool")
_STAGES = ("res2", "res3", "res4", "res5")  # torchvision's layer1..layer4
_DILATED_STAGES = {32: 0, 16: 1, 8: 2}  # output stride -> how many of the last stages are dilated


def dilate_stage(layer, previous_dilation):
    """
    Make the torchvision ResNet stage `layer` (an nn.Sequential of blocks) keep its input's
    resolution (in place): its strided convolutions get stride 1, its 3x3 convolutions dilation
    2 * `previous_dilation` (the first block's keep `previous_dilation`), as torchvision's
    ``replace_stride_with_dilation`` builds Bottleneck stages; BasicBlock stages (ResNet-18/34),
    which torchvision does not dilate, follow the same rule. Returns the stage's new dilation.
    """
    dilation = 2 * previous_dilation
    for index, block in enumerate(layer):
        for conv in block.modules():
            if isinstance(conv, nn.Conv2d):
                conv.stride = (1, 1)
                if conv.kernel_size == (3, 3):
                    d = previous_dilation if index == 0 else dilation
                    conv.dilation, conv.padding = (d, d), (d, d)
    return dilation


class TorchvisionResNet(Backbone):
    """
    torchvision's ResNet without its classifier, modules named as in torchvision (conv1, bn1,
    layer1..layer4), so torchvision weights load by name.

    forward: (N, 3, H, W) -> {name: (N, C, H/stride, W/stride)} for the `out_features` among
    "stem" (stride 4, after the max-pool), "res2".."res5" (strides 4, 8, 16, 32; detectron2's names;
    with output stride 16 or 8 the dilated stages keep the stride of the stage before them).
    Any input size, unpadded (size_divisibility 0, as detectron2's ResNet): a stage's size is then the
    input's divided by its stride, rounded up, as in torchvision.
    """

    def __init__(self, arch, out_features, norm="BN", freeze_at=0, output_stride=32):
        """
        Args:
            arch: "resnet18", "resnet34", "resnet50" or "resnet101".
            out_features: stage names to return.
            norm: see ``convert_norm``.
            freeze_at: 0 trains everything; 1 freezes the stem, k > 1 also res2..res<k> (detectron2's FREEZE_AT).
            output_stride: 32; 16 dilates res5, 8 dilates res4 and res5 (see ``dilate_stage``).
        """
        super().__init__()
        self.torchvision_arch = arch  # backbone-only checkpoints of this architecture load here
        resnet = convert_norm(build_torchvision_model(arch, "resnet"), norm)
        names = ("stem", *_STAGES)
        unknown = set(out_features) - set(names)
        if unknown:
            raise ValueError(f"MODEL.TORCHVISION.OUT_FEATURES: {sorted(unknown)} are not stages of {arch}; choose from {names}.")
        if output_stride not in _DILATED_STAGES:
            raise ValueError(f"MODEL.TORCHVISION.OUTPUT_STRIDE = {output_stride}: choose one of {sorted(_DILATED_STAGES)}.")
        layers = [f"layer{i}" for i in range(1, 5)]
        dilation = 1
        for layer in layers[len(layers) - _DILATED_STAGES[output_stride]:]:
            dilation = dilate_stage(getattr(resnet, layer), dilation)
        self._out_features = [name for name in names if name in out_features]
        self._out_feature_strides = {"stem": 4, **{name: min(2 ** (i + 2), output_stride) for i, name in enumerate(_STAGES)}}
        self._out_feature_channels = {
            "stem": resnet.conv1.out_channels,
            **{name: last_conv_channels(getattr(resnet, layer)[-1], 0) for name, layer in zip(_STAGES, layers)},
        }
        # Stages after the last requested one are not built: they would compute nothing that is used.
        self.stages = layers[: names.index(self._out_features[-1])]
        for name in (*_STEM, *self.stages):
            self.add_module(name, getattr(resnet, name))
        if freeze_at >= 1:
            freeze_children(self, _STEM + tuple(self.stages[: freeze_at - 1]))

    def forward(self, x):
        outputs = {}
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        if "stem" in self._out_features:
            outputs["stem"] = x
        for name, layer in zip(_STAGES, self.stages):
            x = getattr(self, layer)(x)
            if name in self._out_features:
                outputs[name] = x
        return outputs


def torchvision_resnet_from_config(cfg, out_features):
    """TorchvisionResNet of MODEL.TORCHVISION (ARCH, NORM, OUTPUT_STRIDE) and MODEL.BACKBONE.FREEZE_AT, returning `out_features`."""
    return TorchvisionResNet(cfg.MODEL.TORCHVISION.ARCH, out_features, norm=cfg.MODEL.TORCHVISION.NORM,
                             freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT, output_stride=cfg.MODEL.TORCHVISION.OUTPUT_STRIDE)


@BACKBONE_REGISTRY.register()
def build_torchvision_resnet_backbone(cfg, input_shape: ShapeSpec):
    """MODEL.TORCHVISION.ARCH (a ResNet) returning MODEL.TORCHVISION.OUT_FEATURES."""
    return torchvision_resnet_from_config(cfg, cfg.MODEL.TORCHVISION.OUT_FEATURES)
