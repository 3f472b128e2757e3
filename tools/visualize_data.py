#!/usr/bin/env python
"""
Draw the ground truth of a registered dataset (built in, or declared in the config) as PNG overlays.

    python tools/visualize_data.py --config-file configs/shapes/detection/faster_rcnn_R_18_FPN.yaml \\
        --dataset shapes_val --num-images 20 --output-dir output/gt
"""
import argparse
import os

import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.detection_utils import read_image
from detectron2.utils.logger import setup_logger

from d2ext.config import load_config
from d2ext.utils.file_io import atomic_write_image
from d2ext.utils.visualizer import draw_ground_truth


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--dataset", help="registered dataset name (default: the config's first DATASETS.TRAIN)")
    parser.add_argument("--num-images", type=int, default=20, help="first N images (0: all)")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--scale", type=float, default=1.0, help="overlay size relative to the image")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logger = setup_logger(name="d2ext")
    cfg = load_config(args.config_file, args.opts)
    dataset_name = args.dataset or cfg.DATASETS.TRAIN[0]
    dicts = DatasetCatalog.get(dataset_name)
    metadata = MetadataCatalog.get(dataset_name)
    for record in dicts[: args.num_images or None]:
        rgb = read_image(record["file_name"], format="RGB")
        name = os.path.splitext(os.path.basename(record["file_name"]))[0] + ".png"
        atomic_write_image(os.path.join(args.output_dir, name), draw_ground_truth(rgb, record, metadata, args.scale))
    logger.info(f"Wrote {min(len(dicts), args.num_images or len(dicts))} ground-truth overlays of "
                f"{dataset_name} to {args.output_dir}")


if __name__ == "__main__":
    main()
