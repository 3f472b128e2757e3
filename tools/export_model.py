#!/usr/bin/env python
"""
Export a trained d2ext model to TorchScript or ONNX, for every task family, and check the export on the test set.

    python tools/export_model.py --config-file configs/digits/classification/resnet18.yaml --format onnx \\
        --output output/digits/resnet18/onnx MODEL.WEIGHTS output/digits/resnet18/model_final.pth

The folder gets one file per exported graph (``model.onnx``, or ``generator_ab`` / ``generator_ba`` for a
CycleGAN), ``config.yaml`` and, last, ``export.json``. The first --check-images inputs of DATASETS.TEST[0] (as
the test loader gives them; seeds for a DCGAN) trace the graphs and are run through the PyTorch model and the
export: the largest differences are printed and kept in export.json, and an export beyond the tolerances
(docs/deploy.md) stops with no export.json. Run the export with tools/demo.py --backend and
tools/train_net.py --eval-only --backend, MODEL.WEIGHTS naming the folder.
"""
import argparse
import itertools
import logging

import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
from detectron2.modeling import build_model
from detectron2.utils.logger import setup_logger

from d2ext.checkpoint import SafeCheckpointer
from d2ext.config import load_config
from d2ext.engine import trainer_class
from d2ext.export import EXPORT_FORMATS, export_model
from d2ext.export.runtime import FORMAT_BACKENDS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--format", required=True, choices=sorted(EXPORT_FORMATS))
    parser.add_argument("--output", required=True, help="folder for the exported files")
    parser.add_argument("--check-images", type=int, default=8, help="test inputs that trace and check the export")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, e.g. MODEL.WEIGHTS path")
    return parser.parse_args(argv)


def sample_inputs(cfg, count):
    """The first `count` inputs of the test loader of DATASETS.TEST[0] (seeds for a model that samples from seeds)."""
    if not cfg.DATASETS.TEST:
        raise ValueError("DATASETS.TEST is empty: the export is traced and checked on the test set's first images; "
                         "name a test dataset (DATASETS.TEST '(\"name\",)').")
    loader = trainer_class(cfg).build_test_loader(cfg, cfg.DATASETS.TEST[0])
    return list(itertools.islice(itertools.chain.from_iterable(loader), count))


def main(argv=None):
    args = parse_args(argv)
    logger = setup_logger(name="d2ext")
    setup_logger(name="d2ext.export")
    cfg = load_config(args.config_file, [*args.opts, "MODEL.DEVICE", "cpu", "DATALOADER.NUM_WORKERS", "0"])
    model = build_model(cfg)
    if cfg.MODEL.WEIGHTS:
        SafeCheckpointer(model).load(cfg.MODEL.WEIGHTS)
    else:
        logger.warning("MODEL.WEIGHTS is empty: exporting the model's initial weights.")
    differences = export_model(cfg, model, sample_inputs(cfg, args.check_images), args.output, args.format)
    logger.info("Largest differences from the PyTorch model on %d test inputs: %s", args.check_images,
                ", ".join(f"{key} {value:.2g}" for key, value in differences.items()))
    logging.getLogger("d2ext").info(f"Wrote {args.output}; run it with --backend "
                                    f"{FORMAT_BACKENDS[args.format]} MODEL.WEIGHTS {args.output}")


if __name__ == "__main__":
    main()
