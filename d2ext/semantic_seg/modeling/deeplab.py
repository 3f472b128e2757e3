"""DeepLabV3 with torchvision's head layout, on detectron2's ASPP, in SEM_SEG_HEADS_REGISTRY."""
from detectron2.config import configurable
from detectron2.layers import ASPP, Conv2d, get_norm
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY
from torch.nn import functional as F

from ...modeling.norm import resolve_norm
from .segmentation_head import SegmentationHead

__all__ = ["DeepLabHead"]


@SEM_SEG_HEADS_REGISTRY.register()
class DeepLabHead(SegmentationHead):
    """
    DeepLabV3 as torchvision builds it (and named as torchvision's class): detectron2's ASPP
    (1x1 conv, three 3x3 atrous convs at ``ASPP_DILATIONS``, image pooling, projection, dropout) on
    one dilated backbone stage, a 3x3 conv-norm-ReLU (``refine``) and a 1x1 ``predictor``, giving
    logits at the stage's stride. detectron2's own ``DeepLabV3Head`` (ASPP then the predictor)
    and ``DeepLabV3PlusHead`` stay available under their names.

    detectron2's ASPP has no norm after the image-pooling conv (the statistics of a 1x1 map from a
    batch of one are meaningless); ``tools/convert_torchvision.py`` folds torchvision's BN there into
    that conv, which gives the same logits at inference.
    """

    @configurable
    def __init__(self, *, in_feature, in_channels, aspp_channels=256, aspp_dilations=(12, 24, 36),
                 aspp_dropout=0.5, convs_dim=256, use_depthwise_separable_conv=False, norm="BN", **kwargs):
        """
        Args:
            in_feature, in_channels: the backbone stage the head reads and its channels.
            aspp_channels, aspp_dilations, aspp_dropout, use_depthwise_separable_conv: detectron2's ASPP.
            convs_dim: channels of the 3x3 conv after the ASPP.
            norm: of every conv but the predictor.
            kwargs: SegmentationHead's arguments.
        """
        super().__init__(norm=norm, **kwargs)
        self.in_feature = in_feature
        norm = resolve_norm(norm)
        self.aspp = ASPP(in_channels, aspp_channels, list(aspp_dilations), norm=norm, activation=F.relu,
                         dropout=aspp_dropout, use_depthwise_separable_conv=use_depthwise_separable_conv)
        self.refine = Conv2d(aspp_channels, convs_dim, 3, padding=1, bias=not norm,
                             norm=get_norm(norm, convs_dim), activation=F.relu)
        self.predictor = Conv2d(convs_dim, self.num_classes, 1)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        head = cfg.MODEL.SEM_SEG_HEAD
        return {**ret, **cls.single_stage_args(cfg, input_shape), "aspp_channels": head.ASPP_CHANNELS,
                "aspp_dilations": head.ASPP_DILATIONS, "aspp_dropout": head.ASPP_DROPOUT,
                "convs_dim": head.CONVS_DIM, "use_depthwise_separable_conv": head.USE_DEPTHWISE_SEPARABLE_CONV}

    def layers(self, features):
        return self.predictor(self.refine(self.aspp(features[self.in_feature])))
