"""
Semantic segmentation: FCN, DeepLabV3 and U-Net heads run by ExactSizeSemanticSegmentor (detectron2's
SemanticSegmentor, inferring each image at its own size), the sem_seg_folder dataset type, its mapper,
mIoU evaluation, torchvision weight conversion and overlays.
"""
from ..engine import register_num_classes_key
from . import data, evaluation, export, modeling, prediction_files, torchvision_weights, visualization  # noqa: F401  fill the registries
from .config import add_semantic_seg_config

for meta_architecture in ("SemanticSegmentor", "ExactSizeSemanticSegmentor"):
    register_num_classes_key(meta_architecture, "MODEL.SEM_SEG_HEAD.NUM_CLASSES", "stuff_classes")
