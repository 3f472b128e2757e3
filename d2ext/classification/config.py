"""Config keys of image classification: MODEL.CLS_HEAD and INPUT.CLS."""
from detectron2.config import CfgNode as CN

from ..config import TASK_CONFIG_REGISTRY

__all__ = ["add_classification_config"]


@TASK_CONFIG_REGISTRY.register()
def add_classification_config(cfg):
    """Add the classification keys, with their defaults, to a config (in place)."""
    # Classification head of ImageClassifier: pooling, optional hidden layers, linear classifier.
    cfg.MODEL.CLS_HEAD = CN()
    cfg.MODEL.CLS_HEAD.NAME = "ClassificationHead"
    cfg.MODEL.CLS_HEAD.IN_FEATURE = "res5"
    cfg.MODEL.CLS_HEAD.NUM_CLASSES = 1000
    # Adaptive average pooling to RxR before flattening: 1 = global average pooling (ResNet,
    # MobileNet); VGG uses 7 and AlexNet 6.
    cfg.MODEL.CLS_HEAD.POOLER_RESOLUTION = 1
    # Widths of hidden fully connected layers (VGG and AlexNet: [4096, 4096]; MobileNetV3: [1024] or [1280]).
    cfg.MODEL.CLS_HEAD.HIDDEN_DIMS = []
    # Activation after each hidden layer: a torch.nn class name ("ReLU", "Hardswish").
    cfg.MODEL.CLS_HEAD.ACTIVATION = "ReLU"
    # Dropout probability before the classifier and after every hidden layer.
    cfg.MODEL.CLS_HEAD.DROPOUT = 0.0
    cfg.MODEL.CLS_HEAD.LABEL_SMOOTHING = 0.0

    # Classification input (ClassificationDatasetMapper): images are resized and cropped to one
    # fixed size, so a batch never needs padding (padding would change the pooled features).
    cfg.INPUT.CLS = CN()
    # Test: resize the shortest edge to RESIZE, then centre-crop CROP_SIZE x CROP_SIZE.
    cfg.INPUT.CLS.RESIZE = 256
    cfg.INPUT.CLS.CROP_SIZE = 224
    # Train: "RandomResizedCrop" (random area in TRAIN_SCALE, aspect ratio in TRAIN_RATIO, resized to
    # CROP_SIZE), "RandomCrop" (resize to RESIZE, random CROP_SIZE crop) or "CenterCrop" (as at test).
    # INPUT.RANDOM_FLIP ("horizontal", "vertical" or "none") applies after the crop.
    cfg.INPUT.CLS.TRAIN_CROP = "RandomResizedCrop"
    cfg.INPUT.CLS.TRAIN_SCALE = (0.08, 1.0)
    cfg.INPUT.CLS.TRAIN_RATIO = (3.0 / 4.0, 4.0 / 3.0)
