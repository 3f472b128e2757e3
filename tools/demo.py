#!/usr/bin/env python
"""
Run a trained d2ext model on images, folders of images or videos and write PNG overlays.

    python tools/demo.py --config-file configs/shapes/detection/faster_rcnn_R_18_FPN.yaml \\
        --input datasets/shapes/val/images --output output/overlays \\
        MODEL.WEIGHTS output/shapes/faster_rcnn_R_18_FPN/model_final.pth

An image ``x.jpg`` becomes ``<output>/x.png``; a video ``clip.mp4`` becomes ``<output>/clip/000000.png``, ...

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

import cv2
import torch
from detectron2.data import MetadataCatalog
from detectron2.data.detection_utils import read_image
from detectron2.utils.logger import setup_logger

from d2ext.checkpoint import Checkpointer
from d2ext.data import build_mapper
from d2ext.engine import Predictor, load_config, trainer_class
from d2ext.engine.mixed_precision import inference_precision
from d2ext.utils.file_io import atomic_write_image
from d2ext.utils.visualizer import draw_predictions, image_grid, translation_strips

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file", required=True, metavar="FILE")
    parser.add_argument("--input", nargs="+", default=[], help="image files, folders of images or videos")
    parser.add_argument("--seeds", nargs="+", type=int, default=[], help="DCGAN: the seeds of the images to generate")
    parser.add_argument("--domain", choices=("A", "B"), default="A", help="CycleGAN: the domain of the input images")
    parser.add_argument("--output", required=True, help="folder for the PNG overlays")
    parser.add_argument("--confidence-threshold", type=float, default=0.5, help="minimum score of a shown detection")
    parser.add_argument("--top-k", type=int, default=3, help="classes listed on a classification overlay")
    parser.add_argument("--scale", type=float, default=1.0, help="overlay size relative to the image (labels "
                        "keep their size: use 3-4 for images as small as the bundled 128 px scenes)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, e.g. MODEL.WEIGHTS path")
    return parser.parse_args(argv)


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


def overlay_jobs(inputs, output):
    """Yield (BGR image, overlay path, what it is for the log) for each image and video frame of `inputs`."""
    for kind, path in expand_inputs(inputs):
        stem = os.path.splitext(os.path.basename(path))[0]
        if kind == "image":
            yield read_image(path, format="BGR"), os.path.join(output, stem + ".png"), path
        else:
            for index, frame in video_frames(path):
                yield frame, os.path.join(output, stem, f"{index:06d}.png"), f"{path} frame {index}"


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


def run_gan(args, cfg, logger):
    """DCGAN: the --seeds' images as one grid. CycleGAN: a translation strip per --input image."""
    model = trainer_class(cfg).build_model(cfg).eval()
    Checkpointer(model).load(cfg.MODEL.WEIGHTS)
    with torch.inference_mode(), inference_precision(cfg):
        if model.samples_from_seeds:
            if not args.seeds:
                raise ValueError(f"{cfg.MODEL.META_ARCHITECTURE} generates images from seeds: give --seeds, e.g. --seeds 0 1 2 3.")
            outputs = model([{"seed": seed} for seed in args.seeds])
            path = os.path.join(args.output, "samples.png")
            atomic_write_image(path, image_grid([o["generated"] for o in outputs], cfg.INPUT.FORMAT))
            logger.info(f"Wrote {len(outputs)} samples (seeds {args.seeds}) to {path}")
            return
        mapper = build_mapper(cfg, is_train=False)  # resized and cropped as in evaluation
        inputs = list(expand_inputs(args.input))
        videos = [path for kind, path in inputs if kind == "video"]
        if videos:
            raise ValueError(f"--input {videos[0]}: {cfg.MODEL.META_ARCHITECTURE} translates images, not videos.")
        paths = [path for _, path in inputs]
        for batch in chunks(paths, cfg.TEST.IMS_PER_BATCH):
            sources = [mapper({"file_name": path, "domain": args.domain}) for path in batch]
            for path, source, output in zip(batch, sources, model(sources)):
                out_path = os.path.join(args.output, os.path.splitext(os.path.basename(path))[0] + ".png")
                atomic_write_image(out_path, translation_strips([source["image"]], [output], cfg.INPUT.FORMAT))
    logger.info(f"Wrote {len(paths)} {args.domain} -> {'B' if args.domain == 'A' else 'A'} -> {args.domain} strips to {args.output}")


def main(argv=None):
    args = parse_args(argv)
    logger = setup_logger(name="d2ext")
    threshold = str(args.confidence_threshold)
    cfg = load_config(args.config_file, [*args.opts, "MODEL.ROI_HEADS.SCORE_THRESH_TEST", threshold,
                                         "MODEL.RETINANET.SCORE_THRESH_TEST", threshold])
    if cfg.SOLVER.TRAINER == "GANTrainer":
        return run_gan(args, cfg, logger)
    if not args.input:
        raise ValueError("--input: give image files, folders of images or videos.")
    predictor = Predictor(cfg)  # loads cfg.MODEL.WEIGHTS; takes BGR images
    metadata = MetadataCatalog.get(cfg.DATASETS.TEST[0] if cfg.DATASETS.TEST else "__unused")
    written = 0
    for batch in chunks(overlay_jobs(args.input, args.output), cfg.TEST.IMS_PER_BATCH):
        for (bgr, out_path, source), predictions in zip(batch, predictor.predict_batch([job[0] for job in batch])):
            atomic_write_image(out_path, draw_predictions(bgr[:, :, ::-1], predictions, metadata, args.scale, args.top_k))
            key = next(key for key in DESCRIPTIONS if key in predictions)
            logger.info(f"{source}: {DESCRIPTIONS[key](predictions, metadata)}")
            written += 1
    logger.info(f"Wrote {written} overlays to {args.output}")


if __name__ == "__main__":
    main()
