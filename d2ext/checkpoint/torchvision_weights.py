"""
torchvision classification, segmentation and SSD ``state_dict`` -> d2ext checkpoint.

d2ext's torchvision backbones keep torchvision's module names, so backbone weights only gain the
``backbone.`` prefix (segmentation models already have it); the classifier layers are renamed to
``cls_head.layers.<i>`` and ``cls_head.predictor``, the segmentation heads' to d2ext's
``sem_seg_head`` modules. A backbone-only checkpoint keeps the backbone's own names and records its
architecture, so ``d2ext.checkpoint.Checkpointer`` loads it into whichever module of a model is that
backbone (a classifier's ``backbone``, an FPN's ``backbone.bottom_up``, ...).
"""
import re

import torch
import torchvision
from detectron2.data.datasets.builtin_meta import _get_coco_instances_meta

from ..modeling.backbone import TORCHVISION_ARCHS

__all__ = ["HEAD_RENAMES", "SEGMENTATION_ARCHS", "SEGMENTATION_HEAD_RENAMES", "SSD_ARCHS", "check_torchvision_state_dict",
           "convert_torchvision", "convert_torchvision_classifier", "convert_torchvision_segmentation",
           "convert_torchvision_ssd", "torchvision_ssd_labels"]

# family -> {torchvision classifier module: d2ext ClassificationHead module}
HEAD_RENAMES = {
    "resnet": {"fc": "predictor"},
    "vgg": {"classifier.0": "layers.0", "classifier.3": "layers.3", "classifier.6": "predictor"},
    "alexnet": {"classifier.1": "layers.0", "classifier.4": "layers.3", "classifier.6": "predictor"},
    "mobilenet_v3": {"classifier.0": "layers.0", "classifier.3": "predictor"},
}


# torchvision segmentation model -> the ResNet under it.
SEGMENTATION_ARCHS = {f"{head}_resnet{depth}": f"resnet{depth}" for head in ("fcn", "deeplabv3") for depth in (50, 101)}

# head ("fcn", "deeplabv3") -> {torchvision module: d2ext module under ``sem_seg_head``} (FCNHead keeps
# torchvision's names; DeepLabHead runs detectron2's ASPP, whose convs hold their norm as ``.norm``).
_FCN_RENAMES = {f"{classifier}.{i}": f"{classifier}.{i}" for classifier in ("classifier", "aux_classifier") for i in (0, 1, 4)}
SEGMENTATION_HEAD_RENAMES = {
    "fcn": _FCN_RENAMES,
    "deeplabv3": {
        **{k: v for k, v in _FCN_RENAMES.items() if k.startswith("aux_")},
        **{f"classifier.0.convs.{i}.0": f"aspp.convs.{i}" for i in range(4)},
        **{f"classifier.0.convs.{i}.1": f"aspp.convs.{i}.norm" for i in range(4)},
        "classifier.0.project.0": "aspp.project",
        "classifier.0.project.1": "aspp.project.norm",
        "classifier.1": "refine",
        "classifier.2": "refine.norm",
        "classifier.4": "predictor",
    },
}
# torchvision's image-pooling conv and its BN, folded into detectron2's ASPP pooling conv (no norm).
_POOLING_CONV, _POOLING_NORM, _D2EXT_POOLING_CONV = "classifier.0.convs.4.1", "classifier.0.convs.4.2", "aspp.convs.4.1"


# torchvision SSD model -> the backbone architecture under it.
SSD_ARCHS = {"ssd300_vgg16": "vgg16", "ssdlite320_mobilenet_v3_large": "mobilenet_v3_large"}
_SSD_HEADS = {"classification": "cls_score", "regression": "bbox_pred"}
# torchvision key -> d2ext key, in order; the first pattern that matches renames.
_SSD_RENAMES = {
    "ssd300_vgg16": [
        (r"backbone\.features\.(.*)", r"backbone.bottom_up.features.\1"),
        (r"backbone\.scale_weight", r"backbone.l2norm.weight"),
        (r"backbone\.extra\.0\.7\.(\d+)\.(.*)", lambda m: f"backbone.bottom_up.features.{30 + int(m[1])}.{m[2]}"),
        (r"backbone\.extra\.0\.(\d+)\.(.*)", lambda m: f"backbone.bottom_up.features.{23 + int(m[1])}.{m[2]}"),
        (r"backbone\.extra\.(\d+)\.([02])\.(.*)", lambda m: f"backbone.extra.{int(m[1]) - 1}.{int(m[2]) // 2}.0.{m[3]}"),
    ],
    "ssdlite320_mobilenet_v3_large": [
        (r"backbone\.extra\.(.*)", r"backbone.extra.\1"),
    ],
}


def _ssdlite_c4_renames(state_dict):
    """torchvision's SSDLite splits MobileNetV3's C4 block between features.0 and features.1; d2ext keeps torchvision's MobileNetV3 indices."""
    c4 = max(int(k.split(".")[3]) for k in state_dict if k.startswith("backbone.features.0."))
    return [
        (rf"backbone\.features\.0\.{c4}\.(.*)", rf"backbone.bottom_up.features.{c4}.block.0.\1"),
        (r"backbone\.features\.0\.(.*)", r"backbone.bottom_up.features.\1"),
        (r"backbone\.features\.1\.0\.(.*)", rf"backbone.bottom_up.features.{c4}.block.\1"),  # block[1:] keeps its indices
        (r"backbone\.features\.1\.(\d+)\.(.*)", lambda m: f"backbone.bottom_up.features.{c4 + int(m[1])}.{m[2]}"),
    ]


def _ssd_num_classes(state_dict):
    """torchvision's num_classes (background included) of an SSD state_dict, from its first level's predictors."""
    last = lambda head: [v for k, v in state_dict.items()  # noqa: E731
                         if re.fullmatch(rf"head\.{head}_head\.module_list\.0(\.1)?\.weight", k)]
    classification, regression = last("classification"), last("regression")
    if not classification or not regression:
        return 91
    return classification[0].shape[0] // (regression[0].shape[0] // 4)


def _expected_state_dict(arch, state_dict):
    """The keys and shapes (on the meta device) of torchvision's `arch` with `state_dict`'s classes and aux head."""
    if arch in SSD_ARCHS:
        kwargs = {"weights_backbone": None, "num_classes": _ssd_num_classes(state_dict)}
    elif arch in SEGMENTATION_ARCHS:
        kwargs = {"weights_backbone": None, "num_classes": state_dict.get("classifier.4.weight", torch.empty(21, 0)).shape[0],
                  "aux_loss": any(key.startswith("aux_classifier.") for key in state_dict)}
    else:
        head = HEAD_RENAMES[TORCHVISION_ARCHS[arch]]
        predictor = next(k for k, v in head.items() if v == "predictor")
        kwargs = {"num_classes": state_dict.get(f"{predictor}.weight", torch.empty(1000, 0)).shape[0]}
    with torch.device("meta"):  # shapes only: nothing allocated or initialised
        return torchvision.models.get_model(arch, weights=None, **kwargs).state_dict()


def check_torchvision_state_dict(state_dict, arch, source):
    """Raise ValueError naming `source` unless `state_dict` has exactly the keys and shapes of torchvision's `arch`."""
    if arch not in TORCHVISION_ARCHS and arch not in SEGMENTATION_ARCHS and arch not in SSD_ARCHS:
        raise ValueError(f"--arch {arch!r}: not a supported torchvision architecture; choose one of "
                         f"{sorted([*TORCHVISION_ARCHS, *SEGMENTATION_ARCHS, *SSD_ARCHS])}.")
    expected = _expected_state_dict(arch, state_dict)
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


def _fold_pooling_norm(state_dict):
    """torchvision's ASPP pooling conv (no bias) + eval-mode BN -> one conv's {"weight", "bias"}."""
    weight = state_dict[f"{_POOLING_CONV}.weight"]
    gamma, beta, mean, var = (state_dict[f"{_POOLING_NORM}.{k}"] for k in ("weight", "bias", "running_mean", "running_var"))
    scale = gamma / torch.sqrt(var + 1e-5)  # torch.nn.BatchNorm2d's default eps, which torchvision uses
    return {"weight": weight * scale.view(-1, 1, 1, 1), "bias": beta - mean * scale}


def convert_torchvision_segmentation(state_dict, arch, backbone_only=False, source="state_dict"):
    """
    Args:
        state_dict: a torchvision `arch` model's state_dict, with or without its aux_classifier.
        arch: a key of SEGMENTATION_ARCHS, e.g. "deeplabv3_resnet50".
        backbone_only: keep only the ResNet, under its own names (backbone_arch "resnet50"/"resnet101").
        source: how to name the input in errors (its file).
    Returns:
        a checkpoint dict for MODEL.WEIGHTS, as ``convert_torchvision_classifier``'s, for the
        configs in configs/VOC/semantic_segmentation/ (FCNHead / DeepLabHead, AUX_IN_FEATURE res4
        when the aux_classifier is present).
    """
    check_torchvision_state_dict(state_dict, arch, source)
    renames = SEGMENTATION_HEAD_RENAMES[arch.split("_")[0]]
    model = {}
    for key, value in state_dict.items():
        if key.startswith("backbone."):
            model[key[len("backbone."):] if backbone_only else key] = value
        elif not backbone_only and not key.startswith((_POOLING_CONV, _POOLING_NORM)):
            module, parameter = key.rsplit(".", 1)
            model[f"sem_seg_head.{renames[module]}.{parameter}"] = value
    if not backbone_only and arch.startswith("deeplabv3"):
        for parameter, value in _fold_pooling_norm(state_dict).items():
            model[f"sem_seg_head.{_D2EXT_POOLING_CONV}.{parameter}"] = value
    checkpoint = {"model": model, "__author__": "torchvision", "arch": arch}
    if backbone_only:
        checkpoint["backbone_arch"] = SEGMENTATION_ARCHS[arch]
    return checkpoint


def torchvision_ssd_labels(num_torchvision_classes):
    """
    torchvision label (0 = background) of each d2ext class, for a torchvision SSD with `num_torchvision_classes`
    outputs: COCO's 80 category ids for torchvision's 91 COCO labels (the order of detectron2's COCO
    datasets), else 1 .. num_torchvision_classes - 1.
    """
    if num_torchvision_classes == 91:
        return sorted(_get_coco_instances_meta()["thing_dataset_id_to_contiguous_id"])
    return list(range(1, num_torchvision_classes))


def _move_background_last(value, num_torchvision_classes):
    """(A * K, ...) class-predictor weight or bias with torchvision's labels per default box -> (A * (C + 1), ...) with
    d2ext's classes (``torchvision_ssd_labels``) and the background last."""
    order = torch.tensor([*torchvision_ssd_labels(num_torchvision_classes), 0])
    per_anchor = value.view(-1, num_torchvision_classes, *value.shape[1:])
    return per_anchor[:, order].flatten(0, 1).clone()


def convert_torchvision_ssd(state_dict, arch, backbone_only=False, source="state_dict"):
    """
    Args:
        state_dict: a torchvision `arch` (a key of SSD_ARCHS) model's state_dict, any number of classes.
        backbone_only: keep only the VGG / MobileNetV3 bottom-up network, under torchvision's classification names.
        source: how to name the input in errors (its file).
    Returns:
        a checkpoint dict for MODEL.WEIGHTS, as ``convert_torchvision_classifier``'s, for
        configs/COCO-Detection/ssd300_vgg16.yaml or ssdlite320_mobilenet_v3.yaml; with torchvision's 91 COCO
        labels the class predictors keep COCO's 80 categories, in detectron2's order (``torchvision_ssd_labels``).
    """
    check_torchvision_state_dict(state_dict, arch, source)
    num_classes = _ssd_num_classes(state_dict)
    renames = [*_SSD_RENAMES[arch], *(_ssdlite_c4_renames(state_dict) if arch.startswith("ssdlite") else [])]
    model = {}
    for key, value in state_dict.items():
        head = re.fullmatch(r"head\.(classification|regression)_head\.module_list\.(.*)", key)
        if head:
            if not backbone_only:
                if head[1] == "classification" and re.fullmatch(r"\d+(\.1)?\.(weight|bias)", head[2]):
                    value = _move_background_last(value, num_classes)
                model[f"head.{_SSD_HEADS[head[1]]}.{head[2]}"] = value
            continue
        new_key = next(re.sub(pattern, new, key) for pattern, new in renames if re.fullmatch(pattern, key))
        if new_key.startswith("backbone.bottom_up."):
            model[new_key[len("backbone.bottom_up."):] if backbone_only else new_key] = value
        elif not backbone_only:
            model[new_key] = value
    checkpoint = {"model": model, "__author__": "torchvision", "arch": arch}
    if backbone_only:
        checkpoint["backbone_arch"] = SSD_ARCHS[arch]
    return checkpoint


def convert_torchvision(state_dict, arch, backbone_only=False, source="state_dict"):
    """The converter of `arch`'s task: SSD, segmentation or classification."""
    convert = (convert_torchvision_ssd if arch in SSD_ARCHS else
               convert_torchvision_segmentation if arch in SEGMENTATION_ARCHS else convert_torchvision_classifier)
    return convert(state_dict, arch, backbone_only, source)
