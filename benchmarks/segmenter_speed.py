#!/usr/bin/env python
"""
Training and inference images/s of d2ext's FCN-ResNet50 and DeepLabV3-ResNet50 (d2ext's
ExactSizeSemanticSegmentor with FCNHead / DeepLabHead, configs/VOC/semantic_segmentation/) beside torchvision's
``fcn_resnet50`` and ``deeplabv3_resnet50`` holding the same (converted) weights, on the same batch of
shapes images, in one process, alternating rounds. Both train with the auxiliary head (loss + 0.5 x
aux loss, torchvision's recipe); at inference torchvision runs without it, as d2ext does.

    python benchmarks/segmenter_speed.py [--iters 3] [--rounds 3] [--batch 4] [--size 128]
"""
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from detectron2.data import DatasetCatalog

from d2ext.checkpoint import SafeCheckpointer, convert_torchvision
from d2ext.data import build_mapper
from d2ext.config import load_config
from d2ext.engine import Trainer
from speed import Pair, run_conditions, speed_argument_parser, train_and_inference_table

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs/VOC/semantic_segmentation")
NAMES = {"fcn_resnet50": "FCN ResNet-50", "deeplabv3_resnet50": "DeepLabV3 ResNet-50"}


def segmenter_pair(arch, batch_size, size):
    """d2ext's `arch` (fcn_resnet50, deeplabv3_resnet50) beside torchvision's, same weights, on shapes images at `size` px."""
    cfg = load_config(os.path.join(CONFIGS, f"{arch}.yaml"), [
        "MODEL.DEVICE", "cpu", "MODEL.SEM_SEG_HEAD.NUM_CLASSES", 4, "DATASETS.TRAIN", ("shapes_sem_seg_val",),
        "DATASETS.TEST", ("shapes_sem_seg_val",), "INPUT.MIN_SIZE_TRAIN", (size,), "INPUT.MAX_SIZE_TRAIN", size,
        "INPUT.CROP.ENABLED", False, "INPUT.RANDOM_FLIP", "none"])
    mapper = build_mapper(cfg, is_train=True)
    batch = [mapper(d) for d in DatasetCatalog.get("shapes_sem_seg_val")[:batch_size]]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD))
    uint8_images = torch.stack([d["image"] for d in batch])
    targets = torch.stack([d["sem_seg"] for d in batch])

    def normalised():
        return (uint8_images.float() - mean) / std

    torch.manual_seed(0)
    tv_model = torchvision.models.get_model(arch, weights=None, weights_backbone=None, aux_loss=True,
                                            num_classes=cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES)
    tv_inference_model = type(tv_model)(tv_model.backbone, tv_model.classifier)  # same modules, no aux head
    d2ext_model = Trainer.build_model(cfg)
    SafeCheckpointer(d2ext_model)._load_model(convert_torchvision(tv_model.state_dict(), arch))

    def tv_loss():
        out = tv_model(normalised())
        return F.cross_entropy(out["out"], targets, ignore_index=255) + 0.5 * F.cross_entropy(out["aux"], targets, ignore_index=255)

    return Pair(NAMES[arch], f"torchvision {arch}", batch_size, d2ext_model, tv_model, lambda model: model(batch), tv_loss,
                lambda model: model(batch), lambda: tv_inference_model(normalised()))


def main(argv=None):
    parser = speed_argument_parser(__doc__, iters=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="input images are size x size")
    parser.add_argument("--arch", nargs="+", default=["fcn_resnet50", "deeplabv3_resnet50"])
    args = parser.parse_args(argv)
    for arch in args.arch:
        table = train_and_inference_table(segmenter_pair(arch, args.batch, args.size), args.iters, args.rounds)
        print(f"\n{arch}: d2ext vs torchvision, same weights, {args.size}x{args.size} shapes images, batch "
              f"{args.batch}, output stride 8, {run_conditions(args)}")
        print(table)


if __name__ == "__main__":
    sys.exit(main())
