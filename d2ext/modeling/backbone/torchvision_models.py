"""What every torchvision backbone shares: building the torchvision model, its norm, freezing stages."""
import torchvision
from detectron2.layers import FrozenBatchNorm2d
from torch import nn

from ..norm import convert_to_naive_sync_batchnorm, resolve_norm

__all__ = ["TORCHVISION_ARCHS", "build_torchvision_model", "convert_norm", "freeze_children", "last_conv_channels"]

# Supported torchvision architecture -> its family (the backbone class that wraps it).
TORCHVISION_ARCHS = {
    **{f"resnet{depth}": "resnet" for depth in (18, 34, 50, 101)},
    **{name: "vgg" for name in ("vgg11", "vgg11_bn", "vgg16", "vgg16_bn")},
    "alexnet": "alexnet",
    "mobilenet_v3_small": "mobilenet_v3",
    "mobilenet_v3_large": "mobilenet_v3",
}


def build_torchvision_model(arch, family, **kwargs):
    """
    torchvision's `arch` with random weights (pretrained weights come through MODEL.WEIGHTS); `kwargs`
    go to torchvision's builder.
    Raises ValueError naming MODEL.TORCHVISION.ARCH when `arch` is unknown or not of `family`.
    """
    if TORCHVISION_ARCHS.get(arch) != family:
        choices = sorted(a for a, f in TORCHVISION_ARCHS.items() if f == family)
        raise ValueError(f"MODEL.TORCHVISION.ARCH = {arch!r} is not a {family} architecture: this "
                         f"backbone builds one of {choices} (other backbones: {sorted(TORCHVISION_ARCHS)}).")
    return torchvision.models.get_model(arch, weights=None, **kwargs)


def convert_norm(module, norm):
    """
    Return `module` with its BatchNorm layers as `norm` (MODEL.TORCHVISION.NORM): "BN" keeps them,
    "FrozenBN" fixes statistics and affine, "SyncBN" synchronises them when several processes train
    (plain BN in one process, detectron2's NaiveSyncBatchNorm on CPUs; see ``resolve_norm``).
    """
    norm = resolve_norm(norm)
    if norm == "BN":
        return module
    if norm == "FrozenBN":
        return FrozenBatchNorm2d.convert_frozen_batchnorm(module)
    if norm == "SyncBN":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if norm == "naiveSyncBN":
        return convert_to_naive_sync_batchnorm(module)
    raise ValueError(f"MODEL.TORCHVISION.NORM = {norm!r}: choose 'BN', 'FrozenBN' or 'SyncBN'.")


def freeze_children(parent, names):
    """Stop training the children `names` of `parent` (in place): no gradients, BatchNorm frozen."""
    for name in names:
        child = getattr(parent, name)
        for parameter in child.parameters():
            parameter.requires_grad = False
        parent.add_module(name, FrozenBatchNorm2d.convert_frozen_batchnorm(child))


def last_conv_channels(module, default):
    """Output channels of the last nn.Conv2d inside `module` (`default` when it has none)."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels if convs else default
