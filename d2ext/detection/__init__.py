"""
R-CNN extras over detectron2's own detectors (GeneralizedRCNN, RetinaNet): FPN backbones whose ResNet (detectron2's
or torchvision's) may end before res5, the class-count keys, and a clear error when a head reads a feature the
backbone does not return.
"""
from ..engine import MODEL_CONFIG_CHECKS, register_num_classes_key
from . import export  # noqa: F401  fills EXPORT_ADAPTERS
from .fpn import build_resnet_fpn_to_last_stage_backbone, build_torchvision_resnet_fpn_backbone, fpn_over
from .head_features import HEAD_FEATURE_KEYS, check_head_features

register_num_classes_key("GeneralizedRCNN", "MODEL.ROI_HEADS.NUM_CLASSES", "thing_classes")
register_num_classes_key("RetinaNet", "MODEL.RETINANET.NUM_CLASSES", "thing_classes")
MODEL_CONFIG_CHECKS.update(dict.fromkeys(HEAD_FEATURE_KEYS, check_head_features))
