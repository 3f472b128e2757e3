"""SSD's multi-level backbone: a bottom-up network's levels, an L2Norm on the first, and extra layers after the last."""
from functools import partial

import torch
import torch.nn.functional as F
from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, Backbone
from torch import nn
from torchvision.ops.misc import Conv2dNormActivation

from .bottom_up import SSDLITE_BATCH_NORM

__all__ = ["L2Norm", "SSDBackbone", "build_ssd_backbone", "init_ssd_convs"]


class L2Norm(nn.Module):
    """(N, C, H, W) -> the same, each position's C-vector scaled to L2 norm 1, then by a learned per-channel scale."""

    def __init__(self, channels, scale):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x):
        return self.weight.view(1, -1, 1, 1) * F.normalize(x)


def init_ssd_convs(module, depthwise):
    """Initialise the convs of `module` as torchvision's SSD does (Xavier) or SSDLite (`depthwise`: normal, std 0.03); biases 0."""
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            if depthwise:
                nn.init.normal_(conv.weight, mean=0.0, std=0.03)
            else:
                nn.init.xavier_uniform_(conv.weight)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)


def extra_layer(in_channels, spec, norm, depthwise, activation):
    """
    One extra level from `spec` = [middle channels, out channels, kernel, stride, padding]: a 1x1 conv to the
    middle channels, then the kxk conv (SSD); or, `depthwise`, a kxk depthwise conv and a 1x1 projection
    (SSDLite). Each conv is followed by `norm` (None or a BatchNorm class) and `activation`.
    """
    middle, out, kernel, stride, padding = spec
    conv = partial(Conv2dNormActivation, norm_layer=norm, activation_layer=activation)
    first = conv(in_channels, middle, 1, padding=0)
    if depthwise:
        return nn.Sequential(first, conv(middle, middle, kernel, stride=stride, padding=padding, groups=middle),
                             conv(middle, out, 1, padding=0))
    return nn.Sequential(first, conv(middle, out, kernel, stride=stride, padding=padding))


class SSDBackbone(Backbone):
    """
    SSD's feature levels: the `in_features` of `bottom_up` (finest first; the first one L2-normalised when
    `l2norm_scale` > 0), then one level per extra layer, each computed from the level before.

    forward: (N, 3, S, S) -> {name: (N, C, H, W)} for the levels, named as the bottom-up features, then "extra1", ...
    """

    def __init__(self, bottom_up, in_features, extra_layers, *, l2norm_scale=0.0, extra_norm="", extra_depthwise=False,
                 activation="ReLU"):
        """
        Args:
            bottom_up (Backbone): returns at least `in_features`.
            in_features (list[str]): its outputs that are levels, finest first.
            extra_layers (list[list[int]]): [middle channels, out channels, kernel, stride, padding] per extra level.
            l2norm_scale: initial scale of the L2Norm of the first level (0: no L2Norm).
            extra_norm: "" or "BN" after each extra conv.
            extra_depthwise: SSDLite's depthwise extra layers.
            activation: a torch.nn activation class name ("ReLU", "ReLU6").
        """
        super().__init__()
        shapes = bottom_up.output_shape()
        unknown = [name for name in in_features if name not in shapes]
        if unknown:
            raise ValueError(f"MODEL.SSD.IN_FEATURES: {unknown} are not outputs of the bottom-up backbone "
                             f"(MODEL.SSD.BOTTOM_UP), which returns {list(shapes)}.")
        if extra_norm not in ("", "BN"):
            raise ValueError(f"MODEL.SSD.EXTRA_NORM = {extra_norm!r}: choose '' or 'BN'.")
        if not hasattr(nn, activation):
            raise ValueError(f"MODEL.SSD.ACTIVATION = {activation!r} is not a torch.nn activation (e.g. 'ReLU', 'ReLU6').")
        self.bottom_up = bottom_up
        self.in_features = list(in_features)
        self.l2norm = L2Norm(shapes[in_features[0]].channels, l2norm_scale) if l2norm_scale > 0 else None
        self.extra = nn.ModuleList()
        self._out_features = list(in_features)
        self._out_feature_channels = {name: shapes[name].channels for name in in_features}
        self._out_feature_strides = {name: shapes[name].stride for name in in_features}
        channels, stride = shapes[in_features[-1]].channels, shapes[in_features[-1]].stride
        for index, spec in enumerate(extra_layers, start=1):
            if len(spec) != 5:
                raise ValueError(f"MODEL.SSD.EXTRA_LAYERS[{index - 1}] = {list(spec)}: give "
                                 "[middle channels, out channels, kernel, stride, padding].")
            self.extra.append(extra_layer(channels, spec, SSDLITE_BATCH_NORM if extra_norm else None, extra_depthwise,
                                          getattr(nn, activation)))
            channels, stride = spec[1], stride * spec[3]
            name = f"extra{index}"
            self._out_features.append(name)
            self._out_feature_channels[name] = channels
            self._out_feature_strides[name] = stride
        init_ssd_convs(self.extra, extra_depthwise)

    def forward(self, x):
        bottom_up = self.bottom_up(x)
        outputs = {name: bottom_up[name] for name in self.in_features}
        if self.l2norm is not None:
            outputs[self.in_features[0]] = self.l2norm(outputs[self.in_features[0]])
        x = bottom_up[self.in_features[-1]]
        for name, layer in zip(self._out_features[len(self.in_features):], self.extra):
            x = layer(x)
            outputs[name] = x
        return outputs

    def output_shape(self):
        return {name: ShapeSpec(channels=self._out_feature_channels[name], stride=self._out_feature_strides[name])
                for name in self._out_features}


@BACKBONE_REGISTRY.register()
def build_ssd_backbone(cfg, input_shape: ShapeSpec):
    """SSDBackbone over MODEL.SSD.BOTTOM_UP (a BACKBONE_REGISTRY name) and the MODEL.SSD extra layers."""
    bottom_up = BACKBONE_REGISTRY.get(cfg.MODEL.SSD.BOTTOM_UP)(cfg, input_shape)
    ssd = cfg.MODEL.SSD
    return SSDBackbone(bottom_up, ssd.IN_FEATURES, ssd.EXTRA_LAYERS, l2norm_scale=ssd.L2NORM_SCALE,
                       extra_norm=ssd.EXTRA_NORM, extra_depthwise=ssd.EXTRA_DEPTHWISE, activation=ssd.ACTIVATION)
