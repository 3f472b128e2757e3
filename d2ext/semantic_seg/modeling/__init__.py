"""
ExactSizeSemanticSegmentor (META_ARCH_REGISTRY), FCN, DeepLabV3 and U-Net heads (detectron2's SEM_SEG_HEADS_REGISTRY)
and the U-Net encoder (BACKBONE_REGISTRY).
"""
from .exact_size_segmentor import ExactSizeSemanticSegmentor
from .deeplab import DeepLabHead
from .fcn import FCNHead
from .segmentation_head import SegmentationHead, fcn_classifier
from .unet import UNetHead
from .unet_encoder import UNetEncoder, build_unet_encoder_backbone, double_conv
