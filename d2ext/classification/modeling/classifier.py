"""ImageClassifier: a detectron2 meta-architecture for image classification."""
import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, Backbone, build_backbone
from detectron2.structures import ImageList
from detectron2.utils.events import get_event_storage
from torch import nn

from ...modeling import map_by_group
from .head import build_cls_head

__all__ = ["ImageClassifier", "classify"]


@META_ARCH_REGISTRY.register()
class ImageClassifier(nn.Module):
    """
    Backbone -> one feature map -> classification head (pooling, dropout, linear) -> logits.

    Input: detectron2's ``list[dict]``, each with "image" (3, H, W) uint8 in INPUT.FORMAT and, in
    training, "label" (int, index into the dataset's thing_classes). ClassificationDatasetMapper
    resizes and crops every image to one size, so a batch stacks without padding (padding would
    enter the pooled features and change an image's logits with its batch-mates). In training,
    images of different sizes are still padded (with 0 before normalisation) rather than refused; at
    inference each size runs on its own, so that an image's logits do not depend on its batch.

    Output in training: {"loss_cls": cross-entropy with MODEL.CLS_HEAD.LABEL_SMOOTHING}.
    Output in eval: one dict per image with
        "pred_logits": (num_classes,) float logits,
        "scores": (num_classes,) softmax probabilities,
        "pred_class": int64 scalar, the index of the highest score.
    """

    @configurable
    def __init__(self, *, backbone: Backbone, in_feature: str, cls_head: nn.Module, pixel_mean, pixel_std,
                 label_smoothing: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.in_feature = in_feature
        self.cls_head = cls_head
        self.label_smoothing = label_smoothing
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg):
        backbone = build_backbone(cfg)
        in_feature = cfg.MODEL.CLS_HEAD.IN_FEATURE
        shapes = backbone.output_shape()
        if in_feature not in shapes:
            raise ValueError(f"MODEL.CLS_HEAD.IN_FEATURE = {in_feature!r} is not an output of the backbone "
                             f"({sorted(shapes)}); add it to MODEL.TORCHVISION.OUT_FEATURES or choose one of these.")
        return {
            "backbone": backbone,
            "in_feature": in_feature,
            "cls_head": build_cls_head(cfg, shapes[in_feature]),
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "label_smoothing": cfg.MODEL.CLS_HEAD.LABEL_SMOOTHING,
        }

    @property
    def device(self):
        return self.pixel_mean.device

    def forward(self, batched_inputs):
        if not self.training:
            return classify(batched_inputs, self.logits, self.device)
        # Images of different sizes are padded (ImageList.from_tensors); the mapper gives one size.
        images = ImageList.from_tensors([x["image"].to(self.device) for x in batched_inputs])
        logits = self.logits(images.tensor)
        labels = torch.as_tensor([x["label"] for x in batched_inputs], device=self.device)
        get_event_storage().put_scalar("cls_accuracy", (logits.argmax(1) == labels).float().mean().item())
        return {"loss_cls": F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)}

    def logits(self, images):
        """(N, C, H, W) pixels in INPUT.FORMAT (uint8 or float) -> (N, num_classes) logits."""
        return self.cls_head(self.backbone((images - self.pixel_mean) / self.pixel_std)[self.in_feature])


def classify(batched_inputs, logits_of, device):
    """
    ImageClassifier's inference, whatever computes the logits: `logits_of` maps (N, C, H, W) float32 pixels to
    (N, num_classes) logits. Images of one size go in one call, stacked on `device`, so that an image's logits
    do not depend on its batch (padding would enter the pooled features). Returns one dict per image:
    "pred_logits", "scores" (softmax), "pred_class" (int64 scalar).
    """
    def classify_group(_, inputs):
        logits = logits_of(torch.stack([x["image"] for x in inputs]).to(device).float())
        scores = logits.softmax(dim=1)
        return [{"pred_logits": l, "scores": s, "pred_class": s.argmax()} for l, s in zip(logits, scores)]
    return map_by_group(batched_inputs, classify_group)
