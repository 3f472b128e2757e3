"""torchvision classifier ``state_dict`` -> ImageClassifier checkpoint (d2ext.checkpoint.convert_torchvision)."""
import torch

from ..checkpoint import TORCHVISION_CONVERTER_REGISTRY
from ..modeling.backbone import TORCHVISION_ARCHS

__all__ = ["HEAD_RENAMES", "TorchvisionClassifierWeights"]

# family -> {torchvision classifier module: d2ext ClassificationHead module}
HEAD_RENAMES = {
    "resnet": {"fc": "predictor"},
    "vgg": {"classifier.0": "layers.0", "classifier.3": "layers.3", "classifier.6": "predictor"},
    "alexnet": {"classifier.1": "layers.0", "classifier.4": "layers.3", "classifier.6": "predictor"},
    "mobilenet_v3": {"classifier.0": "layers.0", "classifier.3": "predictor"},
}


@TORCHVISION_CONVERTER_REGISTRY.register()
class TorchvisionClassifierWeights:
    """
    torchvision's ResNet, VGG, AlexNet and MobileNetV3 classifiers: backbone weights gain the ``backbone.``
    prefix, the classifier layers become ``cls_head.layers.<i>`` and ``cls_head.predictor``; the result loads
    into configs/ImageNet/classification/<arch>.yaml and gives torchvision's logits. Backbone-only: the
    backbone under its own names (backbone_arch = arch).
    """

    archs = {arch: arch for arch in TORCHVISION_ARCHS}

    @staticmethod
    def _head(arch):
        return HEAD_RENAMES[TORCHVISION_ARCHS[arch]]

    @classmethod
    def model_kwargs(cls, state_dict, arch):
        predictor = next(k for k, v in cls._head(arch).items() if v == "predictor")
        return {"num_classes": state_dict.get(f"{predictor}.weight", torch.empty(1000, 0)).shape[0]}

    @classmethod
    def convert(cls, state_dict, arch, backbone_only):
        head, model = cls._head(arch), {}
        for key, value in state_dict.items():
            module, parameter = key.rsplit(".", 1)
            head_module = head.get(module)
            if head_module is None:
                model[key if backbone_only else f"backbone.{key}"] = value
            elif not backbone_only:
                model[f"cls_head.{head_module}.{parameter}"] = value
        return model
