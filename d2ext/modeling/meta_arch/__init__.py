"""Meta-architectures d2ext adds to detectron2's META_ARCH_REGISTRY."""
from .classification_head import CLS_HEAD_REGISTRY, ClassificationHead, build_cls_head
from .classifier import ImageClassifier
