"""d2ext's models; importing this fills detectron2's BACKBONE_REGISTRY and META_ARCH_REGISTRY."""
from . import backbone, meta_arch  # noqa: F401
