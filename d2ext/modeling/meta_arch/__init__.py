"""Meta-architectures d2ext adds to detectron2's META_ARCH_REGISTRY."""
from .classification_head import CLS_HEAD_REGISTRY, ClassificationHead, build_cls_head
from .classifier import ImageClassifier
from .ssd import SSD
from .ssd_head import SSD_HEAD_REGISTRY, SSDHead, SSDLiteHead, build_ssd_head
from .dcgan import DCGAN
from .cyclegan import CycleGAN
