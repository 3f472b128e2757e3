"""torchvision architectures as detectron2 backbones, in detectron2's BACKBONE_REGISTRY."""
from .resnet import TorchvisionResNet, build_torchvision_resnet_backbone, build_torchvision_resnet_fpn_backbone
from .sequential_features import (
    SequentialFeaturesBackbone,
    build_torchvision_alexnet_backbone,
    build_torchvision_mobilenet_v3_backbone,
    build_torchvision_vgg_backbone,
)
from .torchvision_models import TORCHVISION_ARCHS
from .unet_encoder import UNetEncoder, build_unet_encoder_backbone
