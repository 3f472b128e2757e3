"""SSD: Single Shot MultiBox Detector (Liu et al., 2016), as a detectron2 dense detector."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.layers import batched_nms, cat
from detectron2.modeling import META_ARCH_REGISTRY, build_anchor_generator, build_backbone
from detectron2.modeling.box_regression import Box2BoxTransform
from detectron2.modeling.matcher import Matcher
from detectron2.modeling.meta_arch.dense_detector import DenseDetector
from detectron2.modeling.meta_arch.retinanet import permute_to_N_HWA_K
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Boxes, ImageList, Instances, pairwise_iou
from fvcore.nn import smooth_l1_loss

from ...modeling import map_by_group
from .head import build_ssd_head

__all__ = ["SSD", "SSDDetectionSelection", "detect"]


@dataclass(frozen=True)
class SSDDetectionSelection:
    """
    SSD's choice of detections among its default boxes (MODEL.SSD.*_TEST, TEST.DETECTIONS_PER_IMAGE): per class the
    best `topk_candidates` boxes above `score_thresh`, NMS per class at `nms_thresh`, the `max_detections` best.
    """

    image_size: int
    score_thresh: float = 0.01
    topk_candidates: int = 400
    nms_thresh: float = 0.45
    max_detections: int = 200

    @classmethod
    def from_config(cls, cfg):
        ssd = cfg.MODEL.SSD
        return cls(ssd.IMAGE_SIZE, ssd.SCORE_THRESH_TEST, ssd.TOPK_CANDIDATES_TEST, ssd.NMS_THRESH_TEST,
                   cfg.TEST.DETECTIONS_PER_IMAGE)

    def __call__(self, scores, boxes):
        """(R, num_classes) scores and (R, 4) XYXY boxes in the image_size x image_size input -> Instances there."""
        image_size = (self.image_size, self.image_size)
        boxes = Boxes(boxes)
        boxes.clip(image_size)
        top_scores, top_boxes = scores.topk(min(self.topk_candidates, len(boxes)), dim=0)  # (k, num_classes)
        keep = top_scores > self.score_thresh
        classes = torch.nonzero(keep)[:, 1]
        top_scores, top_boxes = top_scores[keep], boxes.tensor[top_boxes[keep]]
        kept = batched_nms(top_boxes, top_scores, classes, self.nms_thresh)[: self.max_detections]
        return Instances(image_size, pred_boxes=Boxes(top_boxes[kept]), scores=top_scores[kept], pred_classes=classes[kept])


def detect(batched_inputs, scores_and_boxes_of, device, selection):
    """
    SSD's inference, whatever computes the scores: `scores_and_boxes_of` maps (N, 3, H, W) float32 pixels to
    (N, R, num_classes) scores and (N, R, 4) boxes in the square input (SSD.scores_and_boxes). Images of one size
    go in one call, stacked on `device`; `selection` (SSDDetectionSelection) picks each image's detections, which
    are rescaled to its "height" x "width" (default: its size). Returns [{"instances": Instances}].
    """
    def detect_group(size, inputs):
        scores, boxes = scores_and_boxes_of(torch.stack([x["image"] for x in inputs]).to(device).float())
        return [{"instances": detector_postprocess(selection(s, b), x.get("height", size[0]), x.get("width", size[1]))}
                for s, b, x in zip(scores, boxes, inputs)]
    return map_by_group(batched_inputs, detect_group)


@META_ARCH_REGISTRY.register()
class SSD(DenseDetector):
    """
    SSD over the levels of an SSD backbone (e.g. ``build_ssd_backbone``) with default boxes from an anchor
    generator (e.g. ``SSDDefaultBoxGenerator``).

    Input: detectron2's list[dict] with "image" ((3, H, W) in INPUT.FORMAT; resized here to image_size x
    image_size when it is not) and, in training, "instances" (gt_boxes in the image_size x image_size
    image, gt_classes), as SSDDatasetMapper gives them.
    Output: in training {"loss_cls", "loss_box_reg"}; in inference, per image {"instances": Instances with
    pred_boxes, scores, pred_classes} in the image's "height" x "width" (default: its size), as detectron2's detectors.
    """

    @configurable
    def __init__(self, *, backbone, head, anchor_generator, box2box_transform, anchor_matcher, num_classes, image_size,
                 pixel_mean, pixel_std, input_format="RGB", negative_positive_ratio=3.0, min_negatives=0,
                 smooth_l1_beta=1.0, selection=None):
        """
        Args:
            backbone (Backbone): its outputs, in the order of ``output_shape()``, are the levels.
            head (nn.Module): see ``SSD_HEAD_REGISTRY``; logits hold num_classes + 1 scores, background last.
            anchor_generator (nn.Module): default boxes per level, in the order of the head's outputs.
            box2box_transform (Box2BoxTransform): box deltas <-> boxes (SSD's weights (10, 10, 5, 5)).
            anchor_matcher (Matcher): default box -> ground truth by IoU (labels 0 / 1).
            image_size (int): the side of the square input.
            negative_positive_ratio, min_negatives: hard negative mining, see MODEL.SSD.
            smooth_l1_beta: of the box loss.
            selection (SSDDetectionSelection): inference's choice of detections (default: its defaults at image_size).
        """
        super().__init__(backbone, head, list(backbone.output_shape()), pixel_mean=pixel_mean, pixel_std=pixel_std)
        self.anchor_generator = anchor_generator
        self.box2box_transform = box2box_transform
        self.anchor_matcher = anchor_matcher
        self.num_classes = num_classes
        self.image_size = image_size
        self.input_format = input_format
        self.negative_positive_ratio = negative_positive_ratio
        self.min_negatives = min_negatives
        self.smooth_l1_beta = smooth_l1_beta
        self.selection = selection or SSDDetectionSelection(image_size)

    @classmethod
    def from_config(cls, cfg):
        backbone = build_backbone(cfg)
        levels = list(backbone.output_shape().values())
        anchor_generator = build_anchor_generator(cfg, levels)
        if len(anchor_generator.num_anchors) != len(levels):
            raise ValueError(f"MODEL.ANCHOR_GENERATOR.SIZES describes {len(anchor_generator.num_anchors)} levels, but the "
                             f"backbone gives {len(levels)} ({list(backbone.output_shape())}): give one [min, max] per level.")
        ssd = cfg.MODEL.SSD
        return {
            "backbone": backbone,
            "head": build_ssd_head(cfg, levels, anchor_generator.num_anchors),
            "anchor_generator": anchor_generator,
            "box2box_transform": Box2BoxTransform(weights=ssd.BBOX_REG_WEIGHTS),
            "anchor_matcher": Matcher([ssd.IOU_THRESHOLD], [0, 1], allow_low_quality_matches=False),
            "num_classes": ssd.NUM_CLASSES,
            "image_size": ssd.IMAGE_SIZE,
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "input_format": cfg.INPUT.FORMAT,
            "negative_positive_ratio": ssd.NEGATIVE_POSITIVE_RATIO,
            "min_negatives": ssd.MIN_NEGATIVES,
            "smooth_l1_beta": ssd.SMOOTH_L1_BETA,
            "selection": SSDDetectionSelection.from_config(cfg),
        }

    def forward(self, batched_inputs):
        if self.training:
            return super().forward(batched_inputs)
        return detect(batched_inputs, self.scores_and_boxes, self.device, self.selection)

    def preprocess_image(self, batched_inputs):
        """Normalise and batch the training images, which SSDDatasetMapper gives at image_size x image_size."""
        size = (self.image_size, self.image_size)
        for x in batched_inputs:
            if tuple(x["image"].shape[-2:]) != size:
                raise ValueError(f"SSD trains on {size[0]}x{size[1]} images (MODEL.SSD.IMAGE_SIZE), got "
                                 f"{tuple(x['image'].shape[-2:])} (HxW): train with INPUT.DATASET_MAPPER SSDDatasetMapper.")
        return super().preprocess_image(batched_inputs)

    def scores_and_boxes(self, images):
        """
        (N, 3, H, W) pixels in INPUT.FORMAT -> (N, R, num_classes) class scores (softmax, background dropped) and
        (N, R, 4) XYXY boxes in the image_size x image_size input, for all R default boxes. The images are
        normalised, then resized (bilinear, as torchvision's SSD; exact identity at image_size).
        """
        images = F.interpolate((images - self.pixel_mean) / self.pixel_std, size=(self.image_size, self.image_size),
                               mode="bilinear", align_corners=False)
        features = self.backbone(images)
        features = [features[f] for f in self.head_in_features]
        logits, deltas = self._predictions(self.head(features))
        anchors = Boxes.cat(self.anchor_generator(features)).tensor
        # (R, N * 4) deltas of each default box for all images at once: no batch size enters a traced graph
        boxes = self.box2box_transform.apply_deltas(deltas.transpose(0, 1).flatten(1), anchors)
        return F.softmax(logits, dim=-1)[..., : self.num_classes], boxes.view(len(anchors), -1, 4).transpose(0, 1)

    def _predictions(self, predictions):
        """The head's per-level outputs -> (N, R, num_classes + 1) logits and (N, R, 4) deltas over all R default boxes."""
        logits, deltas = predictions
        return (cat([permute_to_N_HWA_K(x, self.num_classes + 1) for x in logits], dim=1),
                cat([permute_to_N_HWA_K(x, 4) for x in deltas], dim=1))

    @torch.no_grad()
    def label_anchors(self, anchors, gt_instances):
        """
        Args:
            anchors (Boxes): all R default boxes.
            gt_instances (list[Instances]): per image, gt_boxes and gt_classes.
        Returns:
            (N, R) int64 class per default box (num_classes = background) and (N, R, 4) matched ground-truth boxes.
        """
        gt_labels, matched_boxes = [], []
        for instances in gt_instances:
            labels = torch.full((len(anchors),), self.num_classes, dtype=torch.int64, device=anchors.device)
            boxes = torch.zeros_like(anchors.tensor)
            if len(instances) > 0:
                iou = pairwise_iou(instances.gt_boxes, anchors)  # (G, R)
                matched, matched_labels = self.anchor_matcher(iou)
                best = iou.argmax(dim=1)  # every ground truth keeps its best default box
                matched[best] = torch.arange(len(best), device=best.device)
                matched_labels[best] = 1
                foreground = matched_labels == 1
                labels[foreground] = instances.gt_classes[matched[foreground]]
                boxes = instances.gt_boxes.tensor[matched]
            gt_labels.append(labels)
            matched_boxes.append(boxes)
        return torch.stack(gt_labels), torch.stack(matched_boxes)

    def hard_negatives(self, class_loss, foreground):
        """
        (N, R) per-box classification loss and foreground mask -> (N, R) mask of the negatives that train:
        per image, the max(ratio x positives, min_negatives) highest-loss background boxes.
        """
        num_negatives = (foreground.sum(dim=1) * self.negative_positive_ratio).long().clamp(min=self.min_negatives)
        num_negatives = torch.minimum(num_negatives, (~foreground).sum(dim=1))
        k = int(num_negatives.max())
        negatives = torch.zeros_like(foreground)
        if k > 0:
            background_loss = class_loss.detach().masked_fill(foreground, float("-inf"))
            hardest = background_loss.topk(k, dim=1).indices
            negatives.scatter_(1, hardest, torch.arange(k, device=hardest.device)[None] < num_negatives[:, None])
        return negatives

    def forward_training(self, images, features, predictions, gt_instances):
        logits, deltas = self._predictions(predictions)
        anchors = Boxes.cat(self.anchor_generator(features))
        gt_labels, matched_boxes = self.label_anchors(anchors, gt_instances)
        foreground = gt_labels != self.num_classes
        normalizer = max(1, int(foreground.sum()))

        target_deltas = self.box2box_transform.get_deltas(anchors.tensor.expand_as(matched_boxes)[foreground],
                                                          matched_boxes[foreground])
        loss_box_reg = smooth_l1_loss(deltas[foreground], target_deltas, self.smooth_l1_beta, reduction="sum")

        class_loss = F.cross_entropy(logits.flatten(0, 1), gt_labels.flatten(), reduction="none").view_as(gt_labels)
        trained = foreground | self.hard_negatives(class_loss, foreground)
        return {"loss_cls": class_loss[trained].sum() / normalizer, "loss_box_reg": loss_box_reg / normalizer}
