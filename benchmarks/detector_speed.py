#!/usr/bin/env python
"""
Training and inference images/s of the `make demo` detector (d2ext Faster R-CNN R18-FPN, on
detectron2) beside torchvision's Faster R-CNN built to the same specification: ResNet-18 + FPN
from scratch with BN, the same FPN width, anchors, proposal counts, RoI sampling and box head, on
the same `shapes` images at the same input size. Both run in one process, one after the other,
on the same machine state; the table ends with the d2ext / torchvision ratio.

    python benchmarks/detector_speed.py [--iters 10] [--batch 16]
"""
import os
import sys

import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model
from torch import nn
from torchvision.models import resnet18
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign

from d2ext.data import build_mapper
from d2ext.config import load_config
from d2ext.engine import Trainer
from speed import Pair, run_conditions, speed_argument_parser, train_and_inference_table

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs/shapes/detection/faster_rcnn_R_18_FPN.yaml")


def torchvision_faster_rcnn(cfg):
    """torchvision's FasterRCNN with the sizes of the d2ext config `cfg`."""
    fpn_channels = cfg.MODEL.FPN.OUT_CHANNELS
    stages = [int(name[-1]) - 1 for name in cfg.MODEL.FPN.IN_FEATURES]  # res2 -> torchvision's layer1
    backbone = BackboneWithFPN(
        resnet18(weights=None, norm_layer=nn.BatchNorm2d),
        return_layers={f"layer{stage}": str(level) for level, stage in enumerate(stages)},
        in_channels_list=[64 * 2 ** (stage - 1) for stage in stages], out_channels=fpn_channels,
        norm_layer={"BN": nn.BatchNorm2d, "": None}[cfg.MODEL.FPN.NORM],
    )
    # torchvision names the FPN levels "0", "1", ... and the max-pooled one on top "pool", as d2 p2, p3, ...
    level_names = [str(level) for level in range(len(stages))] + ["pool"]
    resolution = cfg.MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION
    return FasterRCNN(
        backbone,
        min_size=cfg.INPUT.MIN_SIZE_TEST, max_size=cfg.INPUT.MAX_SIZE_TEST,
        image_mean=[m / 255 for m in cfg.MODEL.PIXEL_MEAN[::-1]], image_std=[s / 255 for s in cfg.MODEL.PIXEL_STD[::-1]],
        rpn_anchor_generator=AnchorGenerator(tuple(tuple(s) for s in cfg.MODEL.ANCHOR_GENERATOR.SIZES),
                                             (tuple(cfg.MODEL.ANCHOR_GENERATOR.ASPECT_RATIOS[0]),) * len(level_names)),
        rpn_pre_nms_top_n_train=cfg.MODEL.RPN.PRE_NMS_TOPK_TRAIN, rpn_pre_nms_top_n_test=cfg.MODEL.RPN.PRE_NMS_TOPK_TEST,
        rpn_post_nms_top_n_train=cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN, rpn_post_nms_top_n_test=cfg.MODEL.RPN.POST_NMS_TOPK_TEST,
        box_roi_pool=MultiScaleRoIAlign(level_names[:len(cfg.MODEL.ROI_HEADS.IN_FEATURES)], resolution,
                                        cfg.MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO),
        box_head=TwoMLPHead(fpn_channels * resolution**2, cfg.MODEL.ROI_BOX_HEAD.FC_DIM),
        box_predictor=FastRCNNPredictor(cfg.MODEL.ROI_BOX_HEAD.FC_DIM, cfg.MODEL.ROI_HEADS.NUM_CLASSES + 1),
        box_batch_size_per_image=cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE,
        box_detections_per_img=cfg.TEST.DETECTIONS_PER_IMAGE,
    )


def to_torchvision(batch):
    """detectron2 inputs (BGR uint8 CHW, Instances) -> torchvision inputs (RGB float [0, 1], targets)."""
    images = [d["image"].flip(0).float() / 255 for d in batch]
    targets = [{"boxes": d["instances"].gt_boxes.tensor, "labels": d["instances"].gt_classes + 1} for d in batch]
    return images, targets


def detector_pair(batch_size=None, reference="torchvision"):
    """
    The `make demo` detector beside torchvision's FasterRCNN of the same specification (`reference`
    "torchvision") or detectron2's stock GeneralizedRCNN of the same config ("detectron2": its build_model,
    fp32, no d2ext settings), on `batch_size` (default: SOLVER.IMS_PER_BATCH) shapes_val images.
    """
    torch.manual_seed(0)
    cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu"])
    batch_size = batch_size or cfg.SOLVER.IMS_PER_BATCH
    mapper = build_mapper(cfg, is_train=True)
    batch = [mapper(d) for d in DatasetCatalog.get("shapes_val")[:batch_size]]
    ours = Trainer.build_model(cfg)
    if reference == "detectron2":
        stock = build_model(cfg)
        return Pair("Faster R-CNN R18-FPN", "detectron2 GeneralizedRCNN", batch_size, ours, stock,
                    lambda model: model(batch), lambda: stock(batch), lambda model: model(batch), lambda: stock(batch))
    tv_images, tv_targets = to_torchvision(batch)
    tv_model = torchvision_faster_rcnn(cfg)
    return Pair("Faster R-CNN R18-FPN", "torchvision FasterRCNN", batch_size, ours, tv_model,
                lambda model: model(batch), lambda: tv_model(tv_images, tv_targets),
                lambda model: model(batch), lambda: tv_model(tv_images))


def main(argv=None):
    parser = speed_argument_parser(__doc__, iters=10)
    parser.add_argument("--batch", type=int, default=None, help="images per step (default: SOLVER.IMS_PER_BATCH)")
    args = parser.parse_args(argv)
    pair = detector_pair(args.batch)
    size = load_config(CONFIG, ["MODEL.DEVICE", "cpu"]).INPUT.MIN_SIZE_TEST
    print(f"Faster R-CNN R18-FPN, {size}x{size} shapes images, batch {pair.num_images}, {run_conditions(args)}; "
          "reference: torchvision")
    print(train_and_inference_table(pair, args.iters, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
