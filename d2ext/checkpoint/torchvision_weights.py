"""
torchvision ``state_dict`` -> d2ext checkpoint, dispatched to the converter of the architecture's task.

d2ext's torchvision backbones keep torchvision's module names, so each task's converter mostly renames its
heads. A backbone-only checkpoint keeps the backbone's own names and records its architecture
(``"backbone_arch"``), so ``d2ext.checkpoint.SafeCheckpointer`` loads it into whichever module of a model is
that backbone (a classifier's ``backbone``, an FPN's ``backbone.bottom_up``, ...).
"""
import torch
import torchvision
from detectron2.utils.registry import Registry

__all__ = ["TORCHVISION_CONVERTER_REGISTRY", "check_torchvision_state_dict", "convert_torchvision", "torchvision_archs"]

TORCHVISION_CONVERTER_REGISTRY = Registry("D2EXT_TORCHVISION_CONVERTER")
TORCHVISION_CONVERTER_REGISTRY.__doc__ = """
Converters of torchvision weights, one class per task, each with:

* ``archs``: {torchvision architecture: the backbone architecture under it} it converts;
* ``model_kwargs(state_dict, arch)``: the keyword arguments of ``torchvision.models.get_model`` that build the model
  `state_dict` belongs to (its class count, its auxiliary head), so that its keys and shapes can be checked;
* ``convert(state_dict, arch, backbone_only)``: {d2ext key: tensor}; with `backbone_only`, the backbone's
  tensors under the backbone's own names.
"""


def torchvision_archs():
    """Every torchvision architecture a registered converter takes, sorted."""
    return sorted(arch for _, converter in TORCHVISION_CONVERTER_REGISTRY for arch in converter.archs)


def _converter(arch):
    for _, converter in TORCHVISION_CONVERTER_REGISTRY:
        if arch in converter.archs:
            return converter
    raise ValueError(f"--arch {arch!r}: not a supported torchvision architecture; choose one of {torchvision_archs()}.")


def check_torchvision_state_dict(state_dict, arch, source="state_dict"):
    """Raise ValueError naming `source` unless `state_dict` has exactly the keys and shapes of torchvision's `arch`."""
    kwargs = _converter(arch).model_kwargs(state_dict, arch)
    with torch.device("meta"):  # shapes only: nothing allocated or initialised
        expected = torchvision.models.get_model(arch, weights=None, **kwargs).state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shapes = [f"{k}: {tuple(state_dict[k].shape)} instead of {tuple(v.shape)}"
                    for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    if missing or unexpected or wrong_shapes:
        raise ValueError(f"{source}: not a torchvision {arch} state_dict: missing keys {missing[:5]}, "
                         f"unexpected keys {unexpected[:5]}, wrong shapes {wrong_shapes[:5]}. Check --arch.")


def convert_torchvision(state_dict, arch, backbone_only=False, source="state_dict"):
    """
    Args:
        state_dict: a torchvision `arch` model's state_dict (name -> tensor), checked first.
        arch: a torchvision architecture of a registered converter (torchvision_archs()), e.g. "resnet50".
        backbone_only: keep only the backbone, under its own names.
        source: how to name the input in errors (its file).
    Returns:
        a checkpoint dict for MODEL.WEIGHTS: {"model": {name: tensor}, "__author__": "torchvision",
        "arch": arch} plus "backbone_arch" (the backbone's architecture) when backbone_only.
    """
    check_torchvision_state_dict(state_dict, arch, source)
    converter = _converter(arch)
    checkpoint = {"model": converter.convert(state_dict, arch, backbone_only), "__author__": "torchvision", "arch": arch}
    if backbone_only:
        checkpoint["backbone_arch"] = converter.archs[arch]
    return checkpoint
