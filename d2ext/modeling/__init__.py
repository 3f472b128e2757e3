"""d2ext's models; importing this fills detectron2's BACKBONE_REGISTRY, META_ARCH_REGISTRY and SEM_SEG_HEADS_REGISTRY."""
from . import backbone, meta_arch, sem_seg_heads  # noqa: F401
