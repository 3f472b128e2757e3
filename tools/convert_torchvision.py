#!/usr/bin/env python
"""
Convert a torchvision classification, segmentation or SSD state_dict (a local ``.pth`` file) into a
d2ext checkpoint for MODEL.WEIGHTS.

    python tools/convert_torchvision.py --arch resnet50 resnet50-11ad3fa6.pth output/resnet50_d2ext.pth
    python tools/convert_torchvision.py --arch resnet50 --backbone-only resnet50.pth output/r50_backbone.pth
    python tools/convert_torchvision.py --arch deeplabv3_resnet50 deeplabv3_resnet50_coco-cd0a2569.pth output/dlv3.pth
    python tools/convert_torchvision.py --arch ssd300_vgg16 ssd300_vgg16_coco-b556d3b4.pth output/ssd300.pth

A full classification checkpoint loads into configs/ImageNet/classification/<arch>.yaml, a
segmentation one into configs/VOC/semantic_segmentation/<arch>.yaml, an SSD one into
configs/COCO-Detection/{ssd300_vgg16,ssdlite320_mobilenet_v3}.yaml, and gives torchvision's outputs;
fine-tuning with another class count re-initialises the classifier. A backbone-only
checkpoint initialises the torchvision backbone of any model (classifier, detector with
build_torchvision_resnet_fpn_backbone, segmenter, ...).
"""
import argparse
import io

import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
import torch

from d2ext.checkpoint import convert_torchvision, torchvision_archs
from d2ext.utils.file_io import atomic_write_bytes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", required=True, choices=torchvision_archs())
    parser.add_argument("--backbone-only", action="store_true", help="keep only the backbone (drop the classifier, segmentation head or SSD's head and extra layers)")
    parser.add_argument("input", help="torchvision state_dict (.pth)")
    parser.add_argument("output", help="d2ext checkpoint to write (.pth)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state_dict = torch.load(args.input, map_location="cpu", weights_only=True)
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise SystemExit(f"{args.input}: not a state_dict (a dict of tensors), as torchvision's model files are.")
    try:
        checkpoint = convert_torchvision(state_dict, args.arch, args.backbone_only, source=args.input)
    except ValueError as e:
        raise SystemExit(str(e)) from e
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write_bytes(args.output, buffer.getvalue())
    print(f"Wrote {len(checkpoint['model'])} tensors of {args.arch}"
          f"{' (backbone only)' if args.backbone_only else ''} to {args.output}")


if __name__ == "__main__":
    main()
