"""torchvision FCN / DeepLabV3 ``state_dict`` -> FCNHead / DeepLabHead checkpoint (d2ext.checkpoint.convert_torchvision)."""
import torch

from ..checkpoint import TORCHVISION_CONVERTER_REGISTRY

__all__ = ["SEGMENTATION_ARCHS", "SEGMENTATION_HEAD_RENAMES", "TorchvisionSegmentationWeights"]

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


def _fold_pooling_norm(state_dict):
    """torchvision's ASPP pooling conv (no bias) + eval-mode BN -> one conv's {"weight", "bias"}."""
    weight = state_dict[f"{_POOLING_CONV}.weight"]
    gamma, beta, mean, var = (state_dict[f"{_POOLING_NORM}.{k}"] for k in ("weight", "bias", "running_mean", "running_var"))
    scale = gamma / torch.sqrt(var + 1e-5)  # torch.nn.BatchNorm2d's default eps, which torchvision uses
    return {"weight": weight * scale.view(-1, 1, 1, 1), "bias": beta - mean * scale}


@TORCHVISION_CONVERTER_REGISTRY.register()
class TorchvisionSegmentationWeights:
    """
    torchvision's FCN and DeepLabV3 over ResNet-50/101, with or without their aux_classifier: the backbone keeps
    its names (``backbone.``), the heads become d2ext's ``sem_seg_head`` modules; the result loads into the
    configs in configs/VOC/semantic_segmentation/ (AUX_IN_FEATURE res4 when the aux_classifier is present) and
    gives torchvision's logits. Backbone-only: the ResNet under its own names (backbone_arch resnet50/101).
    """

    archs = SEGMENTATION_ARCHS

    @staticmethod
    def model_kwargs(state_dict, arch):
        return {"weights_backbone": None, "num_classes": state_dict.get("classifier.4.weight", torch.empty(21, 0)).shape[0],
                "aux_loss": any(key.startswith("aux_classifier.") for key in state_dict)}

    @staticmethod
    def convert(state_dict, arch, backbone_only):
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
        return model
