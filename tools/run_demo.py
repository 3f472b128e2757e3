#!/usr/bin/env python
"""
The `make demo` job: train the default detector on the bundled `shapes` data, evaluate it in COCO
format, draw predicted and ground-truth overlays, and print AP, AP50, AP75, the time and where the
overlays are. Everything lands in ``output/demo`` (replaced on each run).
"""
import json
import os
import shutil
import subprocess
import sys
import time

CONFIG = "configs/shapes/detection/cascade_rcnn_R_18_FPN.yaml"
OUTPUT_DIR = "output/demo"
NUM_OVERLAYS = 16
OVERLAY_SCALE = "4"  # 128 px scenes drawn at 512 px, so that labels stay readable
TOOLS = os.path.dirname(os.path.abspath(__file__))


def run_tool(script, *args):
    subprocess.run([sys.executable, os.path.join(TOOLS, script), *args], check=True)


def main():
    start = time.perf_counter()
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    run_tool("train_net.py", "--config-file", CONFIG, "OUTPUT_DIR", OUTPUT_DIR)
    train_minutes = (time.perf_counter() - start) / 60

    from d2ext.data import datasets_root

    val_images = os.path.join(datasets_root(), "shapes", "val", "images")
    inputs = [os.path.join(val_images, f) for f in sorted(os.listdir(val_images))[:NUM_OVERLAYS]]
    predictions_dir, ground_truth_dir = f"{OUTPUT_DIR}/overlays", f"{OUTPUT_DIR}/ground_truth"
    run_tool("demo.py", "--config-file", CONFIG, "--input", *inputs, "--output", predictions_dir,
             "--scale", OVERLAY_SCALE, "MODEL.WEIGHTS", f"{OUTPUT_DIR}/model_final.pth")
    run_tool("visualize_data.py", "--config-file", CONFIG, "--dataset", "shapes_val",
             "--num-images", str(NUM_OVERLAYS), "--scale", OVERLAY_SCALE, "--output-dir", ground_truth_dir)

    with open(f"{OUTPUT_DIR}/evaluation_results.json") as f:
        bbox = json.load(f)["results"]["shapes_val"]["bbox"]
    print("\n==== d2ext demo: Cascade R-CNN R18-FPN on shapes_val ====")
    print(f"box AP {bbox['AP']:.1f}   AP50 {bbox['AP50']:.1f}   AP75 {bbox['AP75']:.1f}")
    print(f"time: {(time.perf_counter() - start) / 60:.1f} min in all ({train_minutes:.1f} min training + evaluation)")
    print(f"predicted overlays:    {os.path.abspath(predictions_dir)}")
    print(f"ground-truth overlays: {os.path.abspath(ground_truth_dir)}")


if __name__ == "__main__":
    main()
