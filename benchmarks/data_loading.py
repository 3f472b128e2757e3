#!/usr/bin/env python
"""
Does data loading keep up with training? For each task's bundled-data config: images/s of its training data
loader alone (detectron2's loader with the config's mapper and DATALOADER.NUM_WORKERS, after a warm-up),
beside images/s of its model's training step on one batch taken from that loader (fp32, loading excluded),
and their ratio. The target is a ratio of at least 2.

    python benchmarks/data_loading.py [--batches 20] [--steps 3] [--configs ...]
"""
import argparse
import itertools
import sys
import time

from detectron2.utils.events import EventStorage
from tabulate import tabulate

from d2ext.config import load_config

from d2ext.engine import trainer_class
from speed import config_training_loop, images_per_second, trainer_iteration

CONFIGS = ("configs/shapes/detection/faster_rcnn_R_18_FPN.yaml", "configs/shapes/detection/ssd_R_18.yaml",
           "configs/shapes/classification/mobilenet_v3_small.yaml", "configs/digits/classification/resnet18.yaml",
           "configs/shapes/semantic_segmentation/unet_light.yaml", "configs/shapes/semantic_segmentation/deeplabv3_R_18_OS8.yaml",
           "configs/digits/gan/dcgan.yaml", "configs/shapes/gan/cyclegan_filled2outlined.yaml")


def loader_images_per_second(loader, num_batches, warmup=3):
    """(images/s of `num_batches` batches of `loader` after `warmup` batches, the last batch)."""
    iterator = iter(loader)
    for _ in range(warmup):
        batch = next(iterator)
    start, images = time.perf_counter(), 0
    for batch in itertools.islice(iterator, num_batches):
        images += len(batch)
    return images / (time.perf_counter() - start), batch


def training_images_per_second(trainer_cls, cfg, batch, steps):
    """Images/s of `steps` training iterations of the config's model and optimizer on the fixed `batch`."""
    inner = config_training_loop(trainer_cls, cfg, itertools.repeat(batch))
    with EventStorage(0) as storage:
        return images_per_second(lambda: trainer_iteration(inner, storage), len(batch), steps, warmup=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="timed loader batches per config")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per config")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    args = parser.parse_args(argv)
    rows = []
    for config in args.configs:
        cfg = load_config(config, ["MODEL.DEVICE", "cpu"])
        trainer_cls = trainer_class(cfg)
        loading, batch = loader_images_per_second(trainer_cls.build_train_loader(cfg), args.batches)
        training = training_images_per_second(trainer_cls, cfg, batch, args.steps)
        rows.append((config.split("configs/")[-1], cfg.DATALOADER.NUM_WORKERS, len(batch), f"{loading:.1f}",
                     f"{training:.1f}", f"{loading / training:.1f}"))
        print(rows[-1], flush=True)
    print(tabulate(rows, headers=("config", "workers", "batch", "loader img/s", "training img/s", "ratio"),
                   tablefmt="github"))


if __name__ == "__main__":
    sys.exit(main())
