"""Config keys of semantic segmentation: detectron2's DeepLab keys, MODEL.SEM_SEG_HEAD's and MODEL.UNET_ENCODER."""
from detectron2.config import CfgNode as CN
from detectron2.projects.deeplab import add_deeplab_config

from ..config import TASK_CONFIG_REGISTRY

__all__ = ["add_semantic_seg_config"]


@TASK_CONFIG_REGISTRY.register()
def add_semantic_seg_config(cfg):
    """Add the semantic segmentation keys, with their defaults, to a config (in place)."""
    # Semantic segmentation. detectron2's DeepLab project adds MODEL.SEM_SEG_HEAD.{ASPP_CHANNELS,
    # ASPP_DILATIONS, ASPP_DROPOUT, LOSS_TYPE, USE_DEPTHWISE_SEPARABLE_CONV, ...},
    # INPUT.CROP.SINGLE_CATEGORY_MAX_AREA and SOLVER.POLY_LR_* (LR_SCHEDULER_NAME "WarmupPolyLR").
    add_deeplab_config(cfg)
    # "cross_entropy" (torchvision's loss) or "hard_pixel_mining" (the hardest 20% of the pixels).
    cfg.MODEL.SEM_SEG_HEAD.LOSS_TYPE = "cross_entropy"
    # A backbone stage for torchvision's auxiliary FCN head (e.g. "res4"), trained with weight
    # AUX_LOSS_WEIGHT and unused at inference; "" for none.
    cfg.MODEL.SEM_SEG_HEAD.AUX_IN_FEATURE = ""
    cfg.MODEL.SEM_SEG_HEAD.AUX_LOSS_WEIGHT = 0.5
    # Dropout before the classifier of FCNHead (and of the auxiliary head), as torchvision's 0.1.
    cfg.MODEL.SEM_SEG_HEAD.DROPOUT = 0.1
    # U-Net (UNetHead): output channels of each decoder level, from the deepest skip connection
    # (the second-deepest of SEM_SEG_HEAD.IN_FEATURES) to the shallowest.
    cfg.MODEL.SEM_SEG_HEAD.DECODER_CHANNELS = [256, 128, 64, 32]
    # The classic U-Net encoder (build_unet_encoder_backbone): two 3x3 conv-BN-ReLU per level, a 2x2
    # max-pool between levels; level k is stage "stage<k>" at stride 2**k. Channels per level;
    # [64, 128, 256, 512, 1024] is the original U-Net, smaller lists suit small data on a CPU.
    cfg.MODEL.UNET_ENCODER = CN()
    cfg.MODEL.UNET_ENCODER.CHANNELS = [64, 128, 256, 512, 1024]
    cfg.MODEL.UNET_ENCODER.NORM = "BN"
