"""torchvision SSD300-VGG16 / SSDLite320-MobileNetV3 ``state_dict`` -> SSD checkpoint (d2ext.checkpoint.convert_torchvision)."""
import re

import torch

from ..checkpoint import TORCHVISION_CONVERTER_REGISTRY
from ..utils.private_apis import coco_category_ids

__all__ = ["SSD_ARCHS", "TorchvisionSSDWeights", "torchvision_ssd_labels"]

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


def torchvision_ssd_labels(num_torchvision_classes):
    """
    torchvision label (0 = background) of each d2ext class, for a torchvision SSD with `num_torchvision_classes`
    outputs: COCO's 80 category ids for torchvision's 91 COCO labels (the order of detectron2's COCO
    datasets), else 1 .. num_torchvision_classes - 1.
    """
    if num_torchvision_classes == 91:
        return coco_category_ids()
    return list(range(1, num_torchvision_classes))


def _move_background_last(value, num_torchvision_classes):
    """(A * K, ...) class-predictor weight or bias with torchvision's labels per default box -> (A * (C + 1), ...) with
    d2ext's classes (``torchvision_ssd_labels``) and the background last."""
    order = torch.tensor([*torchvision_ssd_labels(num_torchvision_classes), 0])
    per_anchor = value.view(-1, num_torchvision_classes, *value.shape[1:])
    return per_anchor[:, order].flatten(0, 1).clone()


@TORCHVISION_CONVERTER_REGISTRY.register()
class TorchvisionSSDWeights:
    """
    torchvision's SSD models, any number of classes: the result loads into configs/COCO-Detection/ssd300_vgg16.yaml
    or ssdlite320_mobilenet_v3.yaml; with torchvision's 91 COCO labels the class predictors keep COCO's 80
    categories, in detectron2's order (torchvision_ssd_labels), the background last. Backbone-only: the VGG /
    MobileNetV3 bottom-up network under torchvision's classification names.
    """

    archs = SSD_ARCHS

    @staticmethod
    def model_kwargs(state_dict, arch):
        return {"weights_backbone": None, "num_classes": _ssd_num_classes(state_dict)}

    @staticmethod
    def convert(state_dict, arch, backbone_only):
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
        return model
