"""
torchvision classification ``state_dict`` -> d2ext checkpoint.

d2ext's torchvision backbones keep torchvision's module names, so backbone weights only gain the
``backbone.`` prefix; the classifier layers are renamed to ``cls_head.layers.<i>`` and
``cls_head.predictor``. A backbone-only checkpoint keeps the backbone's own names and records its
architecture, so ``d2ext.checkpoint.Checkpointer`` loads it into whichever module of a model is that
backbone (a classifier's ``backbone``, an FPN's ``backbone.bottom_up``, ...).
"""
import torch
import torchvision

from ..modeling.backbone import TORCHVISION_ARCHS

__all__ = ["HEAD_RENAMES", "check_torchvision_state_dict", "convert_torchvision_classifier"]

# family -> {torchvision classifier module: d2ext ClassificationHead module}
HEAD_RENAMES = {
    "resnet": {"fc": "predictor"},
    "vgg": {"classifier.0": "layers.0", "classifier.3": "layers.3", "classifier.6": "predictor"},
    "alexnet": {"classifier.1": "layers.0", "classifier.4": "layers.3", "classifier.6": "predictor"},
    "mobilenet_v3": {"classifier.0": "layers.0", "classifier.3": "predictor"},
}


def check_torchvision_state_dict(state_dict, arch, source):
    """Raise ValueError naming `source` unless `state_dict` has exactly the keys and shapes of torchvision's `arch`."""
    if arch not in TORCHVISION_ARCHS:
        raise ValueError(f"--arch {arch!r}: not a supported torchvision architecture; choose one of {sorted(TORCHVISION_ARCHS)}.")
    head = HEAD_RENAMES[TORCHVISION_ARCHS[arch]]
    predictor = next(k for k, v in head.items() if v == "predictor")
    num_classes = state_dict.get(f"{predictor}.weight", torch.empty(1000, 0)).shape[0]
    with torch.device("meta"):  # shapes only: nothing allocated or initialised
        expected = torchvision.models.get_model(arch, weights=None, num_classes=num_classes).state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shapes = [f"{k}: {tuple(state_dict[k].shape)} instead of {tuple(v.shape)}"
                    for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    if missing or unexpected or wrong_shapes:
        raise ValueError(f"{source}: not a torchvision {arch} state_dict: missing keys {missing[:5]}, "
                         f"unexpected keys {unexpected[:5]}, wrong shapes {wrong_shapes[:5]}. Check --arch.")


def convert_torchvision_classifier(state_dict, arch, backbone_only=False, source="state_dict"):
    """
    Args:
        state_dict: a torchvision `arch` model's state_dict (name -> tensor).
        arch: a key of TORCHVISION_ARCHS, e.g. "resnet50".
        backbone_only: drop the classifier and keep the backbone's own names.
        source: how to name the input in errors (its file).
    Returns:
        a checkpoint dict for MODEL.WEIGHTS: {"model": {name: tensor}, "__author__": "torchvision",
        "arch": arch} plus "backbone_arch": arch when backbone_only.
    """
    check_torchvision_state_dict(state_dict, arch, source)
    head = HEAD_RENAMES[TORCHVISION_ARCHS[arch]]
    model = {}
    for key, value in state_dict.items():
        module, parameter = key.rsplit(".", 1)
        head_module = head.get(module)
        if head_module is None:
            model[key if backbone_only else f"backbone.{key}"] = value
        elif not backbone_only:
            model[f"cls_head.{head_module}.{parameter}"] = value
    checkpoint = {"model": model, "__author__": "torchvision", "arch": arch}
    if backbone_only:
        checkpoint["backbone_arch"] = arch
    return checkpoint
