"""d2ext's shared modeling: torchvision backbones (detectron2's BACKBONE_REGISTRY) and norm names."""
from . import backbone  # noqa: F401  fills BACKBONE_REGISTRY
from .batching import image_size, map_by_group
from .norm import resolve_norm
