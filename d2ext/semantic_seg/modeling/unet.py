"""U-Net's expanding path as a head over any multi-scale backbone, in SEM_SEG_HEADS_REGISTRY."""
from detectron2.config import configurable
from detectron2.layers import Conv2d
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from torch import cat, nn
from torch.nn import functional as F

from .unet_encoder import double_conv
from .segmentation_head import SegmentationHead

__all__ = ["UNetHead"]


@SEM_SEG_HEADS_REGISTRY.register()
class UNetHead(SegmentationHead):
    """
    U-Net's decoder: from the deepest of ``IN_FEATURES``, each level upsamples 2x (bilinear),
    concatenates the next shallower stage (the skip connection) and applies a ``double_conv`` to
    its ``DECODER_CHANNELS``; a 1x1 ``predictor`` gives the logits at the shallowest stage's
    stride. Over ``build_unet_encoder_backbone`` it is the classic U-Net; over a torchvision ResNet
    (IN_FEATURES stem/res2..res5) a ResNet U-Net.
    """

    @configurable
    def __init__(self, *, in_features, in_channels, decoder_channels, norm="BN", **kwargs):
        """
        Args:
            in_features, in_channels: backbone stages from the shallowest to the deepest, their channels.
            decoder_channels: output channels per decoder level, the deepest skip connection's first
                (len(in_features) - 1 values).
            norm: of the decoder's convs.
            kwargs: SegmentationHead's arguments.
        """
        super().__init__(norm=norm, **kwargs)
        if len(decoder_channels) != len(in_features) - 1:
            raise ValueError(f"MODEL.SEM_SEG_HEAD.DECODER_CHANNELS = {list(decoder_channels)}: give one width per "
                             f"skip connection, {len(in_features) - 1} for IN_FEATURES {list(in_features)}.")
        self.in_features = list(in_features)
        skips = in_channels[-2::-1]
        deeper = [in_channels[-1], *decoder_channels[:-1]]
        self.decoder = nn.ModuleList(double_conv(d + s, c, norm) for d, s, c in zip(deeper, skips, decoder_channels))
        self.predictor = Conv2d(decoder_channels[-1], self.num_classes, 1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        stages = sorted(cfg.MODEL.SEM_SEG_HEAD.IN_FEATURES, key=lambda name: input_shape[name].stride)
        return {**ret, "in_features": stages, "in_channels": [input_shape[name].channels for name in stages],
                "decoder_channels": cfg.MODEL.SEM_SEG_HEAD.DECODER_CHANNELS}

    def layers(self, features):
        x = features[self.in_features[-1]]
        for block, skip_name in zip(self.decoder, self.in_features[-2::-1]):
            skip = features[skip_name]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(cat([x, skip], dim=1))
        return self.predictor(x)
