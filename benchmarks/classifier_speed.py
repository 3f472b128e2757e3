#!/usr/bin/env python
"""
Training and inference images/s of d2ext's ImageClassifier with torchvision's ResNet-18 (through
detectron2's model-input plumbing: list of dicts, normalisation, ImageList, loss dict) beside a
plain torchvision resnet18 loop on the same batch of images at the same size (both normalise the
same uint8 batch inside the timed step), in one process, alternating rounds; the table ends with
the d2ext / torchvision ratio.

    python benchmarks/classifier_speed.py [--iters 5] [--rounds 3] [--batch 32] [--size 224]
"""
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from detectron2.data import DatasetCatalog

from d2ext.data import build_mapper
from d2ext.config import load_config
from d2ext.engine import Trainer
from speed import Pair, run_conditions, speed_argument_parser, train_and_inference_table

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs/ImageNet/classification/resnet18.yaml")


def classifier_pair(batch_size, size):
    """ImageClassifier ResNet-18 beside torchvision's resnet18 on `batch_size` shapes_cls images at `size` px."""
    torch.manual_seed(0)
    cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu", "DATASETS.TEST", ("shapes_cls_val",),
                               "INPUT.CLS.RESIZE", size, "INPUT.CLS.CROP_SIZE", size])
    mapper = build_mapper(cfg, is_train=True)
    batch = [mapper(d) for d in DatasetCatalog.get("shapes_cls_val")[:batch_size]]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (cfg.MODEL.PIXEL_MEAN, cfg.MODEL.PIXEL_STD))
    uint8_images = torch.stack([d["image"] for d in batch])
    labels = torch.tensor([d["label"] for d in batch])

    def normalised():
        """The reference's input: the same uint8 batch normalised as torchvision's Normalize would."""
        return (uint8_images.float() - mean) / std

    tv_model = torchvision.models.resnet18(num_classes=cfg.MODEL.CLS_HEAD.NUM_CLASSES)
    return Pair("ImageClassifier ResNet-18", "torchvision resnet18", batch_size, Trainer.build_model(cfg), tv_model,
                lambda model: model(batch), lambda: F.cross_entropy(tv_model(normalised()), labels),
                lambda model: model(batch), lambda: tv_model(normalised()))


def main(argv=None):
    parser = speed_argument_parser(__doc__, iters=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224, help="input images are size x size")
    args = parser.parse_args(argv)
    pair = classifier_pair(args.batch, args.size)
    print(f"ImageClassifier ResNet-18 vs torchvision resnet18, {args.size}x{args.size} shapes_cls images, "
          f"batch {args.batch}, {pair.theirs.fc.out_features} classes, {run_conditions(args)}")
    print(train_and_inference_table(pair, args.iters, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
