#!/usr/bin/env python
"""
Run a trained d2ext model on images, folders of images or videos and write PNG overlays, prediction files, or both.

    python tools/demo.py --config-file configs/shapes/detection/faster_rcnn_R_18_FPN.yaml \\
        --input datasets/shapes/val/images --output output/overlays \\
        --opts MODEL.WEIGHTS output/shapes/faster_rcnn_R_18_FPN/model_final.pth

Config overrides (KEY VALUE ...) follow ``--opts``, as in detectron2's demo, or simply end the command.
``--confidence-threshold`` is the minimum score of a drawn detection for every detector (R-CNN, RetinaNet, SSD):
it sets every MODEL.*.SCORE_THRESH_TEST of the config.

An image ``x.jpg`` becomes ``<output>/x.png``; a video ``clip.mp4`` becomes ``<output>/clip/000000.png``, ...
``--output-format json`` (or ``both``) writes ``<output>/x.json`` instead of (or beside) the overlay: detections in
COCO's results format, a classifier's class and top scores, a segmenter's classes with ``x_classes.png``, a PNG
of class ids (docs/deploy.md).

``--backend onnxruntime`` or ``torchscript`` runs a model exported by tools/export_model.py: MODEL.WEIGHTS names
its folder, and the config is the one it was exported from.

GANs: a DCGAN generates one image per ``--seeds`` value into ``<output>/samples.png`` (a grid); a CycleGAN
translates each input image from ``--domain`` (A or B) and writes its source -> translated -> reconstructed
strip to ``<output>/x.png``::

    python tools/demo.py --config-file configs/digits/gan/dcgan.yaml --seeds 0 1 2 3 --output out \
        MODEL.WEIGHTS output/digits/dcgan/model_final.pth
"""
import argparse
import glob
import itertools
import os

import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
import cv2
from detectron2.data import MetadataCatalog
from detectron2.data.detection_utils import read_image
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils.logger import setup_logger

from d2ext.config import get_cfg, load_config
from d2ext.engine import Predictor
from d2ext.export import BACKENDS
from d2ext.gan.visualization import image_grid, translation_strips
from d2ext.utils.file_io import atomic_write_image
from d2ext.utils.prediction_files import write_prediction_files
from d2ext.utils.visualizer import draw_predictions

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--input", nargs="+", default=[], help="image files, folders of images or videos")
    parser.add_argument("--seeds", nargs="+", type=int, default=[], help="DCGAN: the seeds of the images to generate")
    parser.add_argument("--domain", choices=("A", "B"), default="A", help="CycleGAN: the domain of the input images")
    parser.add_argument("--output", required=True, help="folder for the overlays and prediction files")
    parser.add_argument("--output-format", choices=("png", "json", "both"), default="png",
                        help="PNG overlays, JSON predictions (and PNG class-id masks), or both")
    parser.add_argument("--backend", choices=BACKENDS, default="pytorch",
                        help="run the PyTorch model, or an export of it (MODEL.WEIGHTS: the export folder)")
    parser.add_argument("--confidence-threshold", type=float, default=0.5, help="minimum score of a shown detection")
    parser.add_argument("--top-k", type=int, default=3, help="classes listed on a classification overlay or in its JSON")
    parser.add_argument("--scale", type=float, default=1.0, help="overlay size relative to the image (labels "
                        "keep their size: use 3-4 for images as small as the bundled 128 px scenes)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], dest="flagged_opts", metavar="KEY VALUE",
                        help="config overrides, as in detectron2's demo, e.g. --opts MODEL.WEIGHTS path")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, e.g. MODEL.WEIGHTS path")
    args = parser.parse_args(argv)
    args.opts = [*args.opts, *args.flagged_opts]
    return args


def score_threshold_overrides(cfg_keys, threshold):
    """KEY VALUE overrides that set every MODEL.<head>.SCORE_THRESH_TEST among the config's `cfg_keys` to `threshold`."""
    return [item for key in cfg_keys if key.startswith("MODEL.") and key.endswith(".SCORE_THRESH_TEST")
            for item in (key, str(threshold))]


def expand_inputs(paths):
    """Yield (kind, path) with kind "image" or "video"; folders expand to their sorted images."""
    for path in paths:
        if os.path.isdir(path):
            for file in sorted(glob.glob(os.path.join(path, "*"))):
                if file.lower().endswith(IMAGE_EXTENSIONS):
                    yield "image", file
        elif path.lower().endswith(VIDEO_EXTENSIONS):
            yield "video", path
        elif os.path.isfile(path):
            yield "image", path
        else:
            raise FileNotFoundError(f"--input {path}: no such file or folder.")


def video_frames(path):
    """Yield (frame_index, BGR frame) of a video file."""
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise ValueError(f"--input {path}: OpenCV cannot open this video.")
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        yield index, frame
        index += 1
    capture.release()


def prediction_jobs(inputs, output):
    """Yield (BGR image, output path without extension, what it is for the log) for each image and video frame of `inputs`."""
    for kind, path in expand_inputs(inputs):
        stem = os.path.splitext(os.path.basename(path))[0]
        if kind == "image":
            yield read_image(path, format="BGR"), os.path.join(output, stem), path
        else:
            for index, frame in video_frames(path):
                yield frame, os.path.join(output, stem, f"{index:06d}"), f"{path} frame {index}"


def chunks(items, size):
    """Lists of `size` consecutive items of the iterable `items` (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# Model output key -> the log's description of one image's predictions, from the outputs and the metadata.
DESCRIPTIONS = {
    "pred_class": lambda p, metadata: f"class {metadata.thing_classes[p['pred_class']]}",
    "sem_seg": lambda p, metadata: "classes " + ", ".join(metadata.stuff_classes[c] for c in p["sem_seg"].argmax(0).unique().tolist()),
    "instances": lambda p, metadata: f"{len(p['instances'])} detections",
}


def all_keys(cfg, prefix=""):
    """The dotted keys of every value of the config `cfg`."""
    return [name for key, value in cfg.items()
            for name in (all_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"])]


def run_gan(args, predictor, logger):
    """DCGAN: the --seeds' images as one grid. CycleGAN: a translation strip per --input image."""
    cfg = predictor.cfg
    if args.output_format != "png":
        raise ValueError(f"--output-format {args.output_format}: {cfg.MODEL.META_ARCHITECTURE} writes images; use png.")
    if META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE).samples_from_seeds:
        if not args.seeds:
            raise ValueError(f"{cfg.MODEL.META_ARCHITECTURE} generates images from seeds: give --seeds, e.g. --seeds 0 1 2 3.")
        outputs = predictor.generate(args.seeds)
        path = os.path.join(args.output, "samples.png")
        atomic_write_image(path, image_grid([o["generated"] for o in outputs], cfg.INPUT.FORMAT))
        logger.info(f"Wrote {len(outputs)} samples (seeds {args.seeds}) to {path}")
        return
    inputs = list(expand_inputs(args.input))
    videos = [path for kind, path in inputs if kind == "video"]
    if videos:
        raise ValueError(f"--input {videos[0]}: {cfg.MODEL.META_ARCHITECTURE} translates images, not videos.")
    paths = [path for _, path in inputs]
    for batch in chunks(paths, cfg.TEST.IMS_PER_BATCH):
        sources = [predictor.model_input(read_image(path, format="BGR")) for path in batch]  # resized and cropped as in evaluation
        for path, source, output in zip(batch, sources, predictor.model([{**s, "domain": args.domain} for s in sources])):
            out_path = os.path.join(args.output, os.path.splitext(os.path.basename(path))[0] + ".png")
            atomic_write_image(out_path, translation_strips([source["image"]], [output], cfg.INPUT.FORMAT))
    logger.info(f"Wrote {len(paths)} {args.domain} -> {'B' if args.domain == 'A' else 'A'} -> {args.domain} strips to {args.output}")


def main(argv=None):
    args = parse_args(argv)
    logger = setup_logger(name="d2ext")
    thresholds = score_threshold_overrides(all_keys(get_cfg()), args.confidence_threshold)
    cfg = load_config(args.config_file, [*thresholds, *args.opts])  # an explicit override wins
    predictor = Predictor(cfg, args.backend)  # loads cfg.MODEL.WEIGHTS; takes BGR images
    if hasattr(META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE), "optimizer_groups"):  # a GAN
        return run_gan(args, predictor, logger)
    if not args.input:
        raise ValueError("--input: give image files, folders of images or videos.")
    metadata = predictor.metadata or MetadataCatalog.get("__unused")
    written = 0
    for batch in chunks(prediction_jobs(args.input, args.output), cfg.TEST.IMS_PER_BATCH):
        for (bgr, stem, source), predictions in zip(batch, predictor.predict_batch([job[0] for job in batch])):
            if args.output_format != "json":
                atomic_write_image(stem + ".png", draw_predictions(bgr[:, :, ::-1], predictions, metadata, args.scale, args.top_k))
            if args.output_format != "png":
                write_prediction_files(stem, source, predictions, metadata, args.top_k)
            key = next(key for key in DESCRIPTIONS if key in predictions)
            logger.info(f"{source}: {DESCRIPTIONS[key](predictions, metadata)}")
            written += 1
    what = {"png": "overlays", "json": "prediction files", "both": "overlays and prediction files"}[args.output_format]
    logger.info(f"Wrote {written} {what} to {args.output}")


if __name__ == "__main__":
    main()
