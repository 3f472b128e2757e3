#!/usr/bin/env python
"""
Training and inference images/s of d2ext's SSD300 VGG-16 and SSDLite320 MobileNetV3-Large (detectron2
DenseDetector "SSD", configs/COCO-Detection/) beside torchvision's ``ssd300_vgg16`` and
``ssdlite320_mobilenet_v3_large`` holding the same (converted) weights, on the same batch of shapes images,
in one process, alternating rounds. SSDDatasetMapper makes the batch with its random augmentations off, so
every image is only resized to the model's input (300 or 320); torchvision gets the same pixels as
floats in [0, 1] (its own resize is then a no-op) and the same boxes. MODEL.SSD.MIN_NEGATIVES is 0
(torchvision's hard negative mining), so that both compute the same loss: the first-step losses are
printed under each table.

With --faster-rcnn (the default), the d2ext SSD300 is also timed at inference beside detectron2's Faster
R-CNN R50-FPN (configs/COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml, random weights) on the same 300x300
images. With random weights Faster R-CNN's cost is representative: its RPN keeps a number of proposals
fixed by its config (POST_NMS_TOPK_TEST 1000) whatever the scores. SSD's NMS cost depends on its scores:
with random weights the TOPK_CANDIDATES_TEST best boxes of every class all score far above SCORE_THRESH_TEST
(SSDLite's scores are uniform, 1 / 4), so all of them go to NMS, which leaves hundreds of detections per
image: likely more work than a trained model's.
SSDLite trains with BatchNorm on 1x1 maps: its --batch must be at least 2.

    python benchmarks/ssd_speed.py [--iters 3] [--rounds 3] [--batch 4] [--arch ...] [--no-faster-rcnn]
"""
import argparse
import os
import sys

import torch
import torchvision
from detectron2.data import DatasetCatalog
from detectron2.utils.events import EventStorage
from tabulate import tabulate

from d2ext.checkpoint import SafeCheckpointer, convert_torchvision

from d2ext.ssd.torchvision_weights import torchvision_ssd_labels
from d2ext.data import build_mapper
from d2ext.config import load_config
from d2ext.engine import Trainer
from speed import Pair, inference_step, run_conditions, side_by_side, speed_argument_parser, train_and_inference_table

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs/COCO-Detection")
CONFIG_NAMES = {"ssd300_vgg16": "ssd300_vgg16", "ssdlite320_mobilenet_v3_large": "ssdlite320_mobilenet_v3"}
NAMES = {"ssd300_vgg16": "SSD300 VGG-16", "ssdlite320_mobilenet_v3_large": "SSDLite320 MobileNetV3-Large"}
NUM_TORCHVISION_CLASSES = 4  # 3 shapes classes + background


def ssd_config(arch):
    """The COCO-Detection config of `arch` for the shapes classes on CPU, with a deterministic training mapper."""
    return load_config(os.path.join(CONFIGS, f"{CONFIG_NAMES[arch]}.yaml"), [
        "MODEL.DEVICE", "cpu", "MODEL.SSD.NUM_CLASSES", NUM_TORCHVISION_CLASSES - 1, "MODEL.SSD.MIN_NEGATIVES", 0,
        "DATASETS.TRAIN", ("shapes_val",), "DATASETS.TEST", ("shapes_val",),
        "INPUT.SSD.PHOTOMETRIC_DISTORTION", False, "INPUT.SSD.EXPAND_PROB", 0.0, "INPUT.SSD.MIN_IOU_CROP", False,
        "INPUT.RANDOM_FLIP", "none"])


def shapes_batch(cfg, batch_size):
    """The first `batch_size` shapes_val images through the config's (deterministic) training mapper."""
    mapper = build_mapper(cfg, is_train=True)
    return [mapper(d) for d in DatasetCatalog.get("shapes_val")[:batch_size]]


def ssd_models(arch, cfg):
    """(d2ext model, torchvision model) of `arch`: torchvision's random weights, converted into d2ext's."""
    torch.manual_seed(0)
    tv_model = torchvision.models.get_model(arch, weights=None, weights_backbone=None,
                                            num_classes=NUM_TORCHVISION_CLASSES)
    d2ext_model = Trainer.build_model(cfg)
    SafeCheckpointer(d2ext_model)._load_model(convert_torchvision(tv_model.state_dict(), arch))
    return d2ext_model, tv_model


def to_torchvision(batch):
    """d2ext inputs (RGB uint8 CHW, Instances) -> torchvision inputs (RGB float [0, 1], targets with its labels)."""
    labels = torch.tensor(torchvision_ssd_labels(NUM_TORCHVISION_CLASSES))
    images = [d["image"].float() / 255 for d in batch]
    targets = [{"boxes": d["instances"].gt_boxes.tensor, "labels": labels[d["instances"].gt_classes]} for d in batch]
    return images, targets


def first_step_losses(d2ext_model, tv_model, batch, tv_images, tv_targets):
    """The summed training losses of both models on the batch, before any step."""
    d2ext_model.train()
    tv_model.train()
    with torch.no_grad(), EventStorage(0):
        return float(sum(d2ext_model(batch).values())), float(sum(tv_model(tv_images, tv_targets).values()))


def ssd_pair(arch, batch_size):
    """d2ext's `arch` beside torchvision's, same weights, on `batch_size` shapes_val images (a Pair)."""
    cfg = ssd_config(arch)
    assert cfg.INPUT.FORMAT == "RGB", cfg.INPUT.FORMAT  # torchvision's SSDs take RGB
    batch = shapes_batch(cfg, batch_size)
    tv_images, tv_targets = to_torchvision(batch)
    d2ext_model, tv_model = ssd_models(arch, cfg)
    return Pair(NAMES[arch], f"torchvision {arch}", batch_size, d2ext_model, tv_model, lambda model: model(batch),
                lambda: tv_model(tv_images, tv_targets), lambda model: model(batch), lambda: tv_model(tv_images)), batch


def benchmark(arch, batch_size, iters, rounds):
    """
    The table of d2ext vs torchvision `arch` on `batch_size` shapes_val images, the line comparing their
    first-step losses, the d2ext model and the batch.
    """
    pair, batch = ssd_pair(arch, batch_size)
    ours, reference = first_step_losses(pair.ours, pair.theirs, batch, *to_torchvision(batch))
    losses = (f"first-step training loss: d2ext {ours:.6f}, torchvision {reference:.6f} "
              f"(relative difference {abs(ours - reference) / abs(reference):.1e})")
    return train_and_inference_table(pair, iters, rounds), losses, pair.ours, batch


def faster_rcnn_table(ssd_model, batch, iters, rounds):
    """Inference images/s of `ssd_model` (d2ext SSD300) and a random-weight Faster R-CNN R50-FPN on `batch` (RGB)."""
    cfg = load_config(os.path.join(CONFIGS, "faster_rcnn_R_50_FPN_1x.yaml"), [
        "MODEL.DEVICE", "cpu", "MODEL.ROI_HEADS.NUM_CLASSES", NUM_TORCHVISION_CLASSES - 1,
        "INPUT.MIN_SIZE_TEST", 300, "INPUT.MAX_SIZE_TEST", 300])
    torch.manual_seed(0)
    faster_rcnn = Trainer.build_model(cfg).eval()
    rcnn_batch = [{"image": d["image"] if cfg.INPUT.FORMAT == "RGB" else d["image"].flip(0)} for d in batch]
    ssd_batch = [{"image": d["image"]} for d in batch]
    ssd_model.eval()
    ours, reference = side_by_side(inference_step(lambda: ssd_model(ssd_batch)),
                                   inference_step(lambda: faster_rcnn(rcnn_batch)), len(batch), iters, rounds)
    return tabulate([("inference", f"{ours:.2f}", f"{reference:.2f}", f"{ours / reference:.2f}")],
                    headers=("phase", "SSD300 img/s", "Faster R-CNN img/s", "ratio"), tablefmt="github")


def main(argv=None):
    parser = speed_argument_parser(__doc__, iters=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--arch", nargs="+", default=list(CONFIG_NAMES), choices=list(CONFIG_NAMES))
    parser.add_argument("--faster-rcnn", action=argparse.BooleanOptionalAction, default=True,
                        help="also time d2ext SSD300 against detectron2's Faster R-CNN R50-FPN at inference")
    args = parser.parse_args(argv)
    if args.batch < 2 and "ssdlite320_mobilenet_v3_large" in args.arch:
        parser.error("SSDLite320 trains with BatchNorm over 1x1 maps (its last extra layer): --batch must be >= 2")
    ssd300 = None
    for arch in args.arch:
        table, losses, model, batch = benchmark(arch, args.batch, args.iters, args.rounds)
        if arch == "ssd300_vgg16":
            ssd300 = model, batch
        size = batch[0]["image"].shape[-1]
        print(f"\n{NAMES[arch]}: d2ext vs torchvision {arch}, same weights, {size}x{size} shapes images, batch "
              f"{args.batch}, {run_conditions(args)}")
        print(table)
        print(losses)
    if args.faster_rcnn:
        if ssd300 is None:  # --arch left SSD300 out: build it and its batch as benchmark() does
            cfg = ssd_config("ssd300_vgg16")
            ssd300 = ssd_models("ssd300_vgg16", cfg)[0], shapes_batch(cfg, args.batch)
        table = faster_rcnn_table(*ssd300, args.iters, args.rounds)
        print(f"\nSSD300 VGG-16 (d2ext) vs Faster R-CNN R50-FPN (detectron2, random weights), inference, 300x300 "
              f"shapes images, batch {args.batch}, {run_conditions(args)}")
        print(table)


if __name__ == "__main__":
    sys.exit(main())
