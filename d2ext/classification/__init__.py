"""
Image classification: ImageClassifier over torchvision backbones (ResNet, VGG, AlexNet, MobileNetV3), the
image_folder dataset type, its mapper, top-k evaluation, torchvision weight conversion and overlays.
"""
from ..engine import register_num_classes_key
from . import data, evaluation, export, modeling, prediction_files, torchvision_weights, visualization  # noqa: F401  fill the registries
from .config import add_classification_config

register_num_classes_key("ImageClassifier", "MODEL.CLS_HEAD.NUM_CLASSES", "thing_classes")
