"""What d2ext's semantic segmentation heads share: the loss at the targets' size, torchvision's auxiliary head."""
from detectron2.config import configurable
from detectron2.layers import get_norm
from detectron2.projects.deeplab.loss import DeepLabCE
from torch import nn
from torch.nn import functional as F

from ...modeling.norm import resolve_norm

__all__ = ["SegmentationHead", "fcn_classifier"]


def fcn_classifier(in_channels, num_classes, dropout, norm):
    """
    torchvision's ``FCNHead`` (same layer indices, so its weights load by name): a 3x3 conv to
    in_channels / 4, `norm`, ReLU, dropout, a 1x1 conv to classes. (N, C, h, w) -> (N, K, h, w).
    """
    inter_channels = in_channels // 4
    norm = resolve_norm(norm)
    return nn.Sequential(
        nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=not norm),
        get_norm(norm, inter_channels) or nn.Identity(),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Conv2d(inter_channels, num_classes, 1),
    )


class SegmentationHead(nn.Module):
    """
    Base of the heads that ``ExactSizeSemanticSegmentor`` runs on backbone features. A subclass
    builds its layers and implements ``layers(features) -> (N, K, h, w)`` logits at the stride of its
    output; this class computes the loss on them upsampled to the targets' size and runs the optional
    auxiliary FCN head (torchvision's ``aux_classifier``, a training-only loss on another stage).
    At inference the logits stay at their stride: the meta-architecture upsamples them to the
    exact input size, which the backbone's features do not determine.

    forward(features, targets=None):
        features: {stage: (N, C, h_stage, w_stage)} from the backbone.
        targets: (N, H, W) int64 class ids, ``ignore_value`` where unscored (training only).
        Returns ``(None, {"loss_sem_seg"[, "loss_sem_seg_aux"]})`` in training and
        ``((N, K, h, w) logits, {})`` at inference.
    """

    @configurable
    def __init__(self, *, num_classes, ignore_value=255, loss_weight=1.0, loss_type="cross_entropy",
                 aux_in_feature="", aux_input_shape=None, aux_loss_weight=0.5, dropout=0.1, norm="BN"):
        """
        Args:
            num_classes: K, the classes predicted per pixel.
            ignore_value: target id that is not scored.
            loss_type: "cross_entropy" or "hard_pixel_mining" (detectron2 DeepLab's loss on the
                hardest 20% of the pixels).
            aux_in_feature, aux_input_shape: stage and ShapeSpec of the auxiliary head's input, "" for none.
            aux_loss_weight: weight of the auxiliary loss; dropout, norm: of the auxiliary head.
        """
        super().__init__()
        self.num_classes = num_classes
        self.ignore_value = ignore_value
        self.loss_weight = loss_weight
        if loss_type == "cross_entropy":
            self.loss = nn.CrossEntropyLoss(ignore_index=ignore_value)
        elif loss_type == "hard_pixel_mining":
            self.loss = DeepLabCE(ignore_label=ignore_value, top_k_percent_pixels=0.2)
        else:
            raise ValueError(f"MODEL.SEM_SEG_HEAD.LOSS_TYPE = {loss_type!r}: choose 'cross_entropy' or 'hard_pixel_mining'.")
        self.aux_in_feature = aux_in_feature
        self.aux_loss_weight = aux_loss_weight
        if aux_in_feature:
            self.aux_classifier = fcn_classifier(aux_input_shape.channels, num_classes, dropout, norm)

    @classmethod
    def from_config(cls, cfg, input_shape):
        """The shared arguments; a subclass adds its own."""
        head = cfg.MODEL.SEM_SEG_HEAD
        for name in [*head.IN_FEATURES, *([head.AUX_IN_FEATURE] if head.AUX_IN_FEATURE else [])]:
            if name not in input_shape:
                raise ValueError(f"MODEL.SEM_SEG_HEAD: stage {name!r} is not an output of the backbone, which returns "
                                 f"{sorted(input_shape)}. Add it to the backbone's OUT_FEATURES or pick one of those.")
        return {
            "num_classes": head.NUM_CLASSES,
            "ignore_value": head.IGNORE_VALUE,
            "loss_weight": head.LOSS_WEIGHT,
            "loss_type": head.LOSS_TYPE,
            "aux_in_feature": head.AUX_IN_FEATURE,
            "aux_input_shape": input_shape.get(head.AUX_IN_FEATURE),
            "aux_loss_weight": head.AUX_LOSS_WEIGHT,
            "dropout": head.DROPOUT,
            "norm": head.NORM,
        }

    @staticmethod
    def single_stage_args(cfg, input_shape):
        """{"in_feature", "in_channels"} of a head that reads one stage (IN_FEATURES [name])."""
        in_features = cfg.MODEL.SEM_SEG_HEAD.IN_FEATURES
        if len(in_features) != 1:
            raise ValueError(f"MODEL.SEM_SEG_HEAD.IN_FEATURES = {list(in_features)}: {cfg.MODEL.SEM_SEG_HEAD.NAME} "
                             "reads one backbone stage; name one, e.g. ['res5'].")
        return {"in_feature": in_features[0], "in_channels": input_shape[in_features[0]].channels}

    def layers(self, features):
        """{stage: (N, C, h_stage, w_stage)} -> (N, K, h, w) logits."""
        raise NotImplementedError

    def forward(self, features, targets=None):
        logits = self.layers(features)
        if not self.training:
            return logits, {}
        losses = {"loss_sem_seg": self._loss(logits, targets) * self.loss_weight}
        if self.aux_in_feature:
            aux_logits = self.aux_classifier(features[self.aux_in_feature])
            losses["loss_sem_seg_aux"] = self._loss(aux_logits, targets) * self.aux_loss_weight
        return None, losses

    def _loss(self, logits, targets):
        """(N, K, h, w) logits, upsampled as torchvision does, scored against (N, H, W) targets."""
        return self.loss(F.interpolate(logits, size=targets.shape[-2:], mode="bilinear", align_corners=False), targets)
