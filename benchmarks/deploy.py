#!/usr/bin/env python
"""
Images/s of every exported model family at batch 1 and 8, in one run: eager PyTorch fp32, eager channels_last,
TorchScript, ONNX Runtime fp32 and ONNX Runtime int8 (static quantization, QDQ format, calibrated on
--calibration-images inputs), each through the same d2ext inference code (pre-processing, graph,
post-processing), with random weights. Variants alternate within each round; the median of the rounds is reported.

    python benchmarks/deploy.py [--models classifier deeplabv3 ssd ...] [--rounds 3] [--seconds 2]
"""
import argparse
import os
import statistics
import tempfile
import time

import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
import numpy as np
import torch
from detectron2.modeling import build_model
from tabulate import tabulate

from d2ext.config import load_config
from d2ext.export import ExportedModel, export_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (config, overrides, image size (H, W) or None for a generator of seeds, channels)
MODELS = {
    "classifier": ("configs/ImageNet/classification/resnet18.yaml", [], (224, 224), 3),
    "deeplabv3": ("configs/VOC/semantic_segmentation/deeplabv3_resnet50.yaml", [], (256, 256), 3),
    "ssd": ("configs/shapes/detection/ssd_R_18.yaml", [], (128, 128), 3),
    "faster_rcnn": ("configs/shapes/detection/faster_rcnn_R_18_FPN.yaml", [], (128, 128), 3),
    "unet": ("configs/shapes/semantic_segmentation/unet_light.yaml", [], (128, 128), 3),
    "dcgan": ("configs/digits/gan/dcgan.yaml", [], None, 1),
    "cyclegan": ("configs/shapes/gan/cyclegan_filled2outlined.yaml", [], (64, 64), 3),
}
TITLES = {"classifier": "ResNet-18 classifier 224 px", "deeplabv3": "DeepLabV3-R50 256 px", "ssd": "SSD R-18 (shapes) 128 px",
          "faster_rcnn": "Faster R-CNN R18-FPN (shapes) 128 px", "unet": "U-Net light 128 px",
          "dcgan": "DCGAN generator 32 px", "cyclegan": "CycleGAN generators 64 px (A -> B -> A)"}


def model_inputs(size, channels, count, seed):
    """`count` model inputs: random uint8 images of `size`, or seeds when `size` is None."""
    if size is None:
        return [{"seed": seed + i} for i in range(count)]
    generator = torch.Generator().manual_seed(seed)
    return [{"image": torch.randint(0, 256, (channels, *size), generator=generator, dtype=torch.uint8)} for _ in range(count)]


def quantize_int8(folder, graph_inputs, output_folder):
    """ONNX Runtime static int8 quantization (QDQ, per-tensor, default settings) of <folder>/model.onnx, calibrated on
    `graph_inputs` (dicts of graph input name -> array); returns the int8 export folder (same manifest)."""
    import shutil

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(graph_inputs)

        def get_next(self):
            return next(self.items, None)

    shutil.copytree(folder, output_folder)
    prepared = os.path.join(output_folder, "prepared.onnx")
    quant_pre_process(os.path.join(folder, "model.onnx"), prepared, skip_symbolic_shape=True)  # dynamic H, W
    quantize_static(prepared, os.path.join(output_folder, "model.onnx"), Reader(), quant_format=QuantFormat.QDQ)
    os.unlink(prepared)
    return output_folder


def calibration_graph_inputs(exported, batched_inputs):
    """The graph inputs ({name: array}) that `batched_inputs` give the "model" graph of `exported` (an ExportedModel)."""
    captured = []

    def capture(name, *tensors):
        session = exported.run.sessions[name]
        captured.append({node.name: t.numpy() for node, t in zip(session.get_inputs(), tensors)})
        return exported.run(name, *tensors)

    exported.adapter(capture, batched_inputs)
    return captured


def images_per_second(call, inputs, seconds):
    """Images/s of call(inputs) repeated for about `seconds` (at least twice) after three warm-up calls (TorchScript
    optimises its graph over its first calls)."""
    for _ in range(3):
        call(inputs)
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        call(inputs)
        calls += 1
    return len(inputs) * calls / (time.perf_counter() - start)


def measure(name, args, work_dir):
    config, overrides, size, channels = MODELS[name]
    cfg = load_config(os.path.join(REPO, config), [*overrides, "MODEL.DEVICE", "cpu"])
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    channels_last = build_model(cfg).eval().to(memory_format=torch.channels_last)
    channels_last.load_state_dict(model.state_dict())
    sample = model_inputs(size, channels, 2, seed=0)
    variants = {"eager fp32": model, "eager channels_last": channels_last}
    for export_format, backend in (("torchscript", "torchscript"), ("onnx", "onnxruntime")):
        folder = os.path.join(work_dir, f"{name}_{export_format}")
        export_model(cfg, model, sample, folder, export_format)
        variants["TorchScript" if backend == "torchscript" else "ONNX Runtime fp32"] = ExportedModel(cfg, folder, backend)
    if args.int8 and name in ("classifier", "deeplabv3", "ssd", "unet"):
        onnx_model = variants["ONNX Runtime fp32"]
        calibration = calibration_graph_inputs(onnx_model, model_inputs(size, channels, args.calibration_images, seed=1))
        folder = quantize_int8(os.path.join(work_dir, f"{name}_onnx"), calibration, os.path.join(work_dir, f"{name}_int8"))
        variants["ONNX Runtime int8"] = ExportedModel(cfg, folder, "onnxruntime")
    rows = []
    for batch in (1, 8):
        inputs = model_inputs(size, channels, batch, seed=2)
        rates = {variant: [] for variant in variants}
        with torch.inference_mode():
            for _ in range(args.rounds):
                for variant, runner in variants.items():
                    time.sleep(1)  # the previous runtime's idle threads spin for a while after its last call
                    rates[variant].append(images_per_second(runner, inputs, args.seconds))
        eager = statistics.median(rates["eager fp32"])
        for variant, values in rates.items():
            rate = statistics.median(values)
            rows.append((TITLES[name], batch, variant, f"{rate:.2f}", f"{rate / eager:.2f}"))
        print(tabulate(rows[-len(variants):], tablefmt="plain"), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per variant and round")
    parser.add_argument("--calibration-images", type=int, default=16)
    parser.add_argument("--no-int8", dest="int8", action="store_false")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    rows = []
    with tempfile.TemporaryDirectory() as work_dir:
        for name in args.models:
            rows += measure(name, args, work_dir)
    print(f"\n`python benchmarks/deploy.py --rounds {args.rounds} --seconds {args.seconds}`: {torch.get_num_threads()} "
          f"CPU threads, torch {torch.__version__}, median of {args.rounds} rounds. Ratio: images/s over eager fp32 "
          "images/s at the same batch size.\n")
    print(tabulate(rows, headers=("model", "batch", "variant", "img/s", "ratio"), tablefmt="github"))


if __name__ == "__main__":
    main()
