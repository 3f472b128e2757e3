"""torchvision architectures as detectron2 backbones, in detectron2's BACKBONE_REGISTRY, shared by the tasks."""
from .resnet import TorchvisionResNet, build_torchvision_resnet_backbone, torchvision_resnet_from_config
from .sequential_features import (
    SequentialFeaturesBackbone,
    build_torchvision_alexnet_backbone,
    build_torchvision_mobilenet_v3_backbone,
    build_torchvision_vgg_backbone,
)
from .torchvision_models import TORCHVISION_ARCHS, build_torchvision_model, convert_norm
