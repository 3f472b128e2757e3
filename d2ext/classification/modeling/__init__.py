"""ImageClassifier (detectron2's META_ARCH_REGISTRY) and its heads (CLS_HEAD_REGISTRY)."""
from .classifier import ImageClassifier
from .head import CLS_HEAD_REGISTRY, ClassificationHead, build_cls_head
