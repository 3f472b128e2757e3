"""d2ext's models; importing this fills detectron2's ANCHOR_GENERATOR_REGISTRY, BACKBONE_REGISTRY, META_ARCH_REGISTRY and SEM_SEG_HEADS_REGISTRY."""
from . import anchor_generator, backbone, meta_arch, sem_seg_heads  # noqa: F401
from .feature_names import check_head_features
