"""torchvision architectures as detectron2 backbones, in detectron2's BACKBONE_REGISTRY."""
from .fpn import build_resnet_fpn_to_last_stage_backbone, fpn_over, max_pool_top_block
from .resnet import TorchvisionResNet, build_torchvision_resnet_backbone, build_torchvision_resnet_fpn_backbone
from .sequential_features import (
    SequentialFeaturesBackbone,
    build_torchvision_alexnet_backbone,
    build_torchvision_mobilenet_v3_backbone,
    build_torchvision_vgg_backbone,
)
from .ssd import L2Norm, SSDBackbone, build_ssd_backbone
from .ssd_bottom_up import (
    SSDLiteMobileNetV3BottomUp,
    SSDVGGBottomUp,
    build_ssd_vgg_bottom_up,
    build_ssdlite_mobilenet_v3_bottom_up,
)
from .torchvision_models import TORCHVISION_ARCHS
from .unet_encoder import UNetEncoder, build_unet_encoder_backbone
