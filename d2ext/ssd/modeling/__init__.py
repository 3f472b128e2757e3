"""SSD (detectron2's META_ARCH_REGISTRY), its heads, default boxes (ANCHOR_GENERATOR_REGISTRY) and backbones (BACKBONE_REGISTRY)."""
from .backbone import L2Norm, SSDBackbone, build_ssd_backbone
from .bottom_up import SSDLiteMobileNetV3BottomUp, SSDVGGBottomUp, build_ssd_vgg_bottom_up, build_ssdlite_mobilenet_v3_bottom_up
from .default_boxes import SSDDefaultBoxGenerator
from .head import SSD_HEAD_REGISTRY, SSDHead, SSDLiteHead, build_ssd_head
from .ssd import SSD
