"""Classification heads: pooled backbone features -> class logits, in CLS_HEAD_REGISTRY."""
from detectron2.config import configurable
from detectron2.utils.registry import Registry
from torch import nn

__all__ = ["CLS_HEAD_REGISTRY", "ClassificationHead", "build_cls_head"]

CLS_HEAD_REGISTRY = Registry("CLS_HEAD")
CLS_HEAD_REGISTRY.__doc__ = """
Heads of ImageClassifier, built as ``cls(cfg, input_shape)`` where input_shape is the ShapeSpec of
the backbone feature MODEL.CLS_HEAD.IN_FEATURE; forward (N, C, H, W) -> (N, num_classes) logits.
"""


@CLS_HEAD_REGISTRY.register()
class ClassificationHead(nn.Module):
    """
    torchvision's classifier heads in one module: adaptive average pooling to R x R, flatten, then
    per hidden width a [Linear, activation, Dropout] block (``layers``), and a Linear classifier
    (``predictor``). Without hidden layers ``layers`` is a single Dropout before the classifier.

    ResNet: R=1, no hidden layers. VGG: R=7, [4096, 4096], ReLU. AlexNet: R=6, [4096, 4096], ReLU.
    MobileNetV3: R=1, [1024] (small) or [1280] (large), Hardswish.
    """

    @configurable
    def __init__(self, *, in_channels, num_classes, pooler_resolution=1, hidden_dims=(), activation="ReLU",
                 dropout=0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(pooler_resolution)
        width = in_channels * pooler_resolution**2
        layers = []
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), getattr(nn, activation)(), nn.Dropout(dropout)]
            width = hidden
        self.layers = nn.Sequential(*layers) if layers else nn.Sequential(nn.Dropout(dropout))
        self.predictor = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)

    @classmethod
    def from_config(cls, cfg, input_shape):
        head = cfg.MODEL.CLS_HEAD
        if not hasattr(nn, head.ACTIVATION):
            raise ValueError(f"MODEL.CLS_HEAD.ACTIVATION = {head.ACTIVATION!r} is not a torch.nn activation "
                             "(for example 'ReLU' or 'Hardswish').")
        return {"in_channels": input_shape.channels, "num_classes": head.NUM_CLASSES,
                "pooler_resolution": head.POOLER_RESOLUTION, "hidden_dims": tuple(head.HIDDEN_DIMS),
                "activation": head.ACTIVATION, "dropout": head.DROPOUT}

    def forward(self, features):
        """(N, C, H, W) -> (N, num_classes) logits."""
        return self.predictor(self.layers(self.pool(features).flatten(1)))


def build_cls_head(cfg, input_shape):
    """The head named by MODEL.CLS_HEAD.NAME."""
    return CLS_HEAD_REGISTRY.get(cfg.MODEL.CLS_HEAD.NAME)(cfg, input_shape)
