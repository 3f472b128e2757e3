"""The classic U-Net encoder (contracting path) as a detectron2 Backbone."""
from detectron2.layers import Conv2d, ShapeSpec, get_norm
from detectron2.modeling import BACKBONE_REGISTRY, Backbone
from torch import nn
from torch.nn import functional as F

from ...modeling.norm import resolve_norm

__all__ = ["double_conv", "UNetEncoder", "build_unet_encoder_backbone"]


def double_conv(in_channels, out_channels, norm):
    """U-Net's unit: two 3x3 conv-norm-ReLU. (N, in_channels, h, w) -> (N, out_channels, h, w)."""
    norm = resolve_norm(norm)
    return nn.Sequential(*[
        Conv2d(c, out_channels, 3, padding=1, bias=not norm, norm=get_norm(norm, out_channels), activation=F.relu)
        for c in (in_channels, out_channels)
    ])


class UNetEncoder(Backbone):
    """
    U-Net's contracting path (Ronneberger et al. 2015, with padding and norm): level k is a
    ``double_conv`` to ``channels[k]``, after a 2x2 max-pool for k > 0.

    forward: (N, in_channels, H, W) -> {"stage<k>": (N, channels[k], H / 2**k, W / 2**k)} for every level.
    """

    def __init__(self, in_channels, channels, norm="BN"):
        super().__init__()
        self._out_features = [f"stage{k}" for k in range(len(channels))]
        for name, c_in, c_out in zip(self._out_features, (in_channels, *channels), channels):
            self.add_module(name, double_conv(c_in, c_out, norm))
        self._out_feature_channels = dict(zip(self._out_features, channels))
        self._out_feature_strides = {name: 2**k for k, name in enumerate(self._out_features)}

    @property
    def size_divisibility(self):
        # Each max-pool halves the size: inputs padded to this keep every level exactly 2x the next.
        return 2 ** (len(self._out_features) - 1)

    def forward(self, x):
        outputs = {}
        for k, name in enumerate(self._out_features):
            x = getattr(self, name)(F.max_pool2d(x, 2) if k else x)
            outputs[name] = x
        return outputs


@BACKBONE_REGISTRY.register()
def build_unet_encoder_backbone(cfg, input_shape: ShapeSpec):
    """UNetEncoder with MODEL.UNET_ENCODER.{CHANNELS, NORM}."""
    return UNetEncoder(input_shape.channels, cfg.MODEL.UNET_ENCODER.CHANNELS, norm=cfg.MODEL.UNET_ENCODER.NORM)
