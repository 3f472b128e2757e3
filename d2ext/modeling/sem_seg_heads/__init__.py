"""Semantic segmentation heads in detectron2's SEM_SEG_HEADS_REGISTRY, run by its SemanticSegmentor."""
from .deeplab import DeepLabHead
from .fcn import FCNHead
from .segmentation_head import SegmentationHead, fcn_classifier
from .unet import UNetHead
