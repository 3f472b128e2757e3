"""FCN (torchvision's FCN-ResNet head) in detectron2's SEM_SEG_HEADS_REGISTRY."""
from detectron2.config import configurable
from detectron2.modeling import SEM_SEG_HEADS_REGISTRY

from .segmentation_head import SegmentationHead, fcn_classifier

__all__ = ["FCNHead"]


@SEM_SEG_HEADS_REGISTRY.register()
class FCNHead(SegmentationHead):
    """
    torchvision's FCN head on one backbone stage (``MODEL.SEM_SEG_HEAD.IN_FEATURES``, e.g. "res5"
    at output stride 8): a 3x3 conv to C/4, norm, ReLU, dropout, a 1x1 conv to classes, giving logits
    at the stage's stride. Module names follow torchvision's (``classifier``,
    ``aux_classifier``), so converted ``fcn_resnet50/101`` weights give torchvision's logits.
    """

    @configurable
    def __init__(self, *, in_feature, in_channels, dropout=0.1, norm="BN", **kwargs):
        """
        Args:
            in_feature, in_channels: the backbone stage the head reads and its channels C.
            dropout, norm: of the classifier (and of the auxiliary head).
            kwargs: SegmentationHead's arguments.
        """
        super().__init__(dropout=dropout, norm=norm, **kwargs)
        self.in_feature = in_feature
        self.classifier = fcn_classifier(in_channels, self.num_classes, dropout, norm)

    @classmethod
    def from_config(cls, cfg, input_shape):
        ret = super().from_config(cfg, input_shape)
        return {**ret, **cls.single_stage_args(cfg, input_shape)}

    def layers(self, features):
        return self.classifier(features[self.in_feature])
