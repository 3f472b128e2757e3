#!/usr/bin/env python
"""
The metric of each family's trained model evaluated three ways on its bundled test set: the PyTorch model, its
ONNX export on ONNX Runtime and its TorchScript export (tools/train_net.py --eval-only [--backend ...]), after
tools/export_model.py has checked each export on the first test images. A model is trained first (tools/train_net.py,
with the schedule below) unless <work-dir>/<name>/model_final.pth exists.

    python benchmarks/deploy_accuracy.py [--models classifier unet ssd cascade_rcnn dcgan] [--work-dir output/deploy_accuracy]
"""
import argparse
import json
import os
import subprocess
import sys

from tabulate import tabulate

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (config, training overrides, evaluation overrides, (result group, metric)); "{work}" is --work-dir.
MODELS = {
    "classifier": ("configs/digits/classification/resnet18.yaml", [], [], ("classification", "top1")),
    "unet": ("configs/shapes/semantic_segmentation/unet_light.yaml", ["SOLVER.MAX_ITER", "300"], [], ("sem_seg", "mIoU")),
    "ssd": ("configs/shapes/detection/ssd_R_18.yaml", ["SOLVER.MAX_ITER", "400", "SOLVER.STEPS", "(300, 370)"], [],
            ("bbox", "AP")),
    "cascade_rcnn": ("configs/shapes/detection/cascade_rcnn_R_18_FPN.yaml", [], ["TEST.IMS_PER_BATCH", "1"], ("bbox", "AP")),
    "dcgan": ("configs/digits/gan/dcgan.yaml", ["SOLVER.MAX_ITER", "600"],
              ["TEST.GAN.CLASSIFIER_WEIGHTS", "{work}/classifier/model_final.pth"], ("gan", "fid")),
}


def tool(script, *args):
    subprocess.run([sys.executable, os.path.join(REPO, "tools", script), *args], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def metric(output_dir, group, key):
    with open(os.path.join(output_dir, "evaluation_results.json")) as f:
        (results,) = json.load(f)["results"].values()
    return results[group][key]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--work-dir", default="output/deploy_accuracy")
    args = parser.parse_args()
    work = os.path.abspath(args.work_dir)
    rows = []
    for name in args.models:
        config, train_opts, eval_opts, (group, key) = MODELS[name]
        config = os.path.join(REPO, config)
        eval_opts = [opt.replace("{work}", work) for opt in eval_opts]
        run_dir = os.path.join(work, name)
        weights = os.path.join(run_dir, "model_final.pth")
        if not os.path.isfile(weights):
            tool("train_net.py", "--config-file", config, "--overwrite", *train_opts, *eval_opts, "OUTPUT_DIR", run_dir)
        values = {}
        for backend, export_format in (("pytorch", None), ("onnxruntime", "onnx"), ("torchscript", "torchscript")):
            model = weights
            if export_format:
                model = os.path.join(run_dir, export_format)
                tool("export_model.py", "--config-file", config, "--format", export_format, "--output", model,
                     *eval_opts, "MODEL.WEIGHTS", weights)
            eval_dir = os.path.join(run_dir, f"eval_{backend}")
            tool("train_net.py", "--config-file", config, "--eval-only", "--backend", backend, *eval_opts,
                 "MODEL.WEIGHTS", model, "OUTPUT_DIR", eval_dir)
            values[backend] = metric(eval_dir, group, key)
        difference = max(abs(values[b] - values["pytorch"]) for b in ("onnxruntime", "torchscript"))
        rows.append((name, f"{group} {key}", *(f"{values[b]:.4g}" for b in values), f"{difference:.2g}"))
        print(tabulate(rows[-1:], tablefmt="plain"), flush=True)
    print(f"\n`python benchmarks/deploy_accuracy.py --models {' '.join(args.models)}`\n")
    print(tabulate(rows, headers=("model", "metric", "PyTorch", "ONNX Runtime", "TorchScript", "largest |difference|"),
                   tablefmt="github"))


if __name__ == "__main__":
    main()
