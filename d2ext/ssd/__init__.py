"""
SSD (Single Shot MultiBox Detector) as a detectron2 dense detector: SSD300/512 over VGG, SSDLite over
MobileNetV3, any torchvision backbone; default boxes, hard negative mining, SSD's augmentation, torchvision
weight conversion. Evaluated by detectron2's COCOEvaluator and drawn as detectron2 instances.
"""
from ..engine import register_num_classes_key
from . import data, export, modeling, torchvision_weights  # noqa: F401  fill the registries
from .config import add_ssd_config

register_num_classes_key("SSD", "MODEL.SSD.NUM_CLASSES", "thing_classes")
