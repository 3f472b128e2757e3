"""detectron2's FPN over ResNets that may stop before res5 (as small images want): detectron2's ResNet or torchvision's."""
import math

from detectron2.layers import ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY, FPN
from detectron2.modeling.backbone import build_resnet_backbone
from detectron2.modeling.backbone.fpn import LastLevelMaxPool

from ..modeling.backbone import torchvision_resnet_from_config

__all__ = ["max_pool_top_block", "fpn_over", "build_resnet_fpn_to_last_stage_backbone", "build_torchvision_resnet_fpn_backbone"]


def max_pool_top_block(bottom_up, in_features):
    """
    detectron2's LastLevelMaxPool (one more FPN level at twice the stride) on the coarsest FPN output:
    p5 when `in_features` reach res5, as detectron2 hard-codes, p4 when they stop at res4, and so on.
    """
    top_block = LastLevelMaxPool()
    top_block.in_feature = f"p{int(math.log2(bottom_up.output_shape()[in_features[-1]].stride))}"
    return top_block


def fpn_over(bottom_up, cfg):
    """detectron2's FPN (MODEL.FPN.*) over the Backbone `bottom_up`, its extra level from max_pool_top_block."""
    in_features = cfg.MODEL.FPN.IN_FEATURES
    return FPN(
        bottom_up=bottom_up,
        in_features=in_features,
        out_channels=cfg.MODEL.FPN.OUT_CHANNELS,
        norm=cfg.MODEL.FPN.NORM,
        top_block=max_pool_top_block(bottom_up, in_features),
        fuse_type=cfg.MODEL.FPN.FUSE_TYPE,
    )


@BACKBONE_REGISTRY.register()
def build_resnet_fpn_to_last_stage_backbone(cfg, input_shape: ShapeSpec):
    """
    detectron2's build_resnet_fpn_backbone, whose ResNet may end at any stage: with MODEL.RESNETS.OUT_FEATURES
    and MODEL.FPN.IN_FEATURES ["res2", "res3", "res4"], res5 is not built and the outputs are p2..p5
    (p5 max-pooled from p4) instead of p2..p6.
    """
    return fpn_over(build_resnet_backbone(cfg, input_shape), cfg)


@BACKBONE_REGISTRY.register()
def build_torchvision_resnet_fpn_backbone(cfg, input_shape: ShapeSpec):
    """
    detectron2's FPN (MODEL.FPN.*) over a torchvision ResNet: detectron2's build_resnet_fpn_backbone
    with the torchvision network underneath, so torchvision or d2ext classification weights load into it.
    MODEL.FPN.IN_FEATURES may end before res5, as in build_resnet_fpn_to_last_stage_backbone.
    """
    return fpn_over(torchvision_resnet_from_config(cfg, cfg.MODEL.FPN.IN_FEATURES), cfg)
