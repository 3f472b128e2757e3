"""A segmenter through the same tools as a detector: train_net (SyncBN config, one CPU process),
eval-only, demo and visualize_data overlays, and the errors on data that disagrees with the model."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from conftest import REPO, evaluation_results, run_tool, train_net, write_config

pytestmark = pytest.mark.slow

CLASSES = '["background", "circle", "square", "triangle"]'
COLORS = [[0, 0, 0], [230, 60, 60], [60, 140, 250], [250, 200, 40]]


def seg_body(tiny_shapes, train_split="train"):
    splits = {"train": tiny_shapes[train_split], "val": tiny_shapes["val"]}
    entries = "\n".join(f'    tiny_seg_{name}: {{TYPE: sem_seg_folder, IMAGE_ROOT: "{d}/images", MASK_ROOT: "{d}/sem_seg", '
                        f"CLASSES: {CLASSES}, COLORS: {COLORS}}}" for name, d in splits.items())
    return f"""
DATASETS:
  REGISTER:
{entries}
  TRAIN: ("tiny_seg_train",)
  TEST: ("tiny_seg_val",)
MODEL:
  TORCHVISION: {{NORM: "SyncBN"}}
  SEM_SEG_HEAD: {{NORM: "SyncBN"}}
SOLVER:
  IMS_PER_BATCH: 4
  MAX_ITER: 6
  CHECKPOINT_PERIOD: 3
"""


def seg_config(path, body):
    return write_config(path, os.path.join(REPO, "configs/shapes/semantic_segmentation/deeplabv3_R_18_OS8.yaml"), body)


@pytest.fixture(scope="module")
def segmenter_config(tiny_shapes, tmp_path_factory):
    return seg_config(tmp_path_factory.mktemp("seg") / "config.yaml", seg_body(tiny_shapes))


@pytest.fixture(scope="module")
def trained_segmenter(segmenter_config, tmp_path_factory):
    return train_net(segmenter_config, tmp_path_factory, "train_seg")


def test_training_with_syncbn_config_in_one_process_writes_checkpoints_and_miou(trained_segmenter):
    for name in ("model_0000002.pth", "model_final.pth", "metrics.json"):
        assert os.path.getsize(os.path.join(trained_segmenter, name)) > 0
    metrics = evaluation_results(trained_segmenter)["results"]["tiny_seg_val"]["sem_seg"]
    assert {"mIoU", "fwIoU", "mACC", "pACC", "IoU-background", "IoU-circle", "IoU-square", "IoU-triangle"} <= set(metrics)
    ious = [metrics[f"IoU-{name}"] for name in ("background", "circle", "square", "triangle")]
    assert metrics["mIoU"] == pytest.approx(np.nanmean(ious)) and np.nanmax(ious) > 0
    with open(os.path.join(trained_segmenter, "inference", "tiny_seg_val", "sem_seg_evaluation.json")) as f:
        assert json.load(f)["sem_seg"] == metrics
    with open(os.path.join(trained_segmenter, "metrics.json")) as f:
        assert "total_loss" in f.readline()  # detectron2 logs the single loss_sem_seg as total_loss


def test_eval_only_reproduces_the_final_evaluation(trained_segmenter, segmenter_config, tmp_path):
    run_tool("train_net.py", "--config-file", segmenter_config, "--eval-only", "MODEL.WEIGHTS",
             os.path.join(trained_segmenter, "model_final.pth"), "OUTPUT_DIR", str(tmp_path))
    assert evaluation_results(tmp_path)["results"] == evaluation_results(trained_segmenter)["results"]


def test_demo_and_ground_truth_overlays_paint_the_classes(trained_segmenter, segmenter_config, tiny_shapes, tmp_path):
    val = tiny_shapes["val"]
    result = run_tool("demo.py", "--config-file", segmenter_config, "--input", os.path.join(val, "images"), "--output",
                      str(tmp_path / "pred"), "MODEL.WEIGHTS", os.path.join(trained_segmenter, "model_final.pth"))
    assert result.stdout.count(": classes ") == 8  # one log line per image, naming the classes found
    run_tool("visualize_data.py", "--config-file", segmenter_config, "--dataset", "tiny_seg_val",
             "--num-images", "2", "--output-dir", str(tmp_path / "gt"))
    assert len(os.listdir(tmp_path / "pred")) == 8 and len(os.listdir(tmp_path / "gt")) == 2
    name = sorted(os.listdir(tmp_path / "gt"))[0]
    scene = cv2.imread(os.path.join(val, "images", name)).astype(int)
    for folder in ("pred", "gt"):
        overlay = cv2.imread(str(tmp_path / folder / name)).astype(int)
        assert overlay.shape == scene.shape
        assert np.abs(overlay - scene).mean() > 10  # classes painted at half opacity (their colours:
        # tests/tools/test_sem_seg_overlays.py)


def test_two_cpu_processes_train_a_syncbn_config_over_gloo(segmenter_config, tmp_path):
    run_tool("train_net.py", "--config-file", segmenter_config, "--num-gpus", "2", "--dist-url", "auto",
             "SOLVER.MAX_ITER", "3", "OUTPUT_DIR", str(tmp_path))
    with open(tmp_path / "log.txt") as f:
        log = f.read()
    # torch's SyncBatchNorm refuses CPU tensors; on gloo the BN layers synchronise as detectron2's NaiveSyncBatchNorm
    assert "World size: 2" in log and "NaiveSyncBatchNorm" in log and "SyncBatchNorm(" not in log.replace("NaiveSyncBatchNorm(", "")
    assert "mIoU" in evaluation_results(str(tmp_path))["results"]["tiny_seg_val"]["sem_seg"]


@pytest.mark.parametrize("opts, message", [
    (["MODEL.SEM_SEG_HEAD.NUM_CLASSES", "5"], "MODEL.SEM_SEG_HEAD.NUM_CLASSES = 5, but dataset 'tiny_seg_train' has 4 classes"),
    (["MODEL.SEM_SEG_HEAD.IGNORE_VALUE", "0"], "MODEL.SEM_SEG_HEAD.IGNORE_VALUE = 0, but dataset 'tiny_seg_train' marks unscored pixels with 255"),
])
def test_model_that_disagrees_with_the_dataset_is_refused(segmenter_config, tmp_path, opts, message):
    result = run_tool("train_net.py", "--config-file", segmenter_config, *opts, "OUTPUT_DIR", str(tmp_path), check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_mask_with_ids_beyond_the_classes_stops_training_naming_the_mask(tiny_shapes, tmp_path):
    bad = tmp_path / "bad_train"
    shutil.copytree(tiny_shapes["train"], bad)
    mask_file = bad / "sem_seg" / "000003.png"
    mask = cv2.imread(str(mask_file), cv2.IMREAD_GRAYSCALE)
    mask[:4, :4] = 7
    cv2.imwrite(str(mask_file), mask)
    config = seg_config(tmp_path / "config.yaml", seg_body({**tiny_shapes, "bad": str(bad)}, train_split="bad"))
    result = run_tool("train_net.py", "--config-file", config, "DATALOADER.NUM_WORKERS", "0", "OUTPUT_DIR",
                      str(tmp_path / "out"), check=False)
    assert result.returncode != 0
    assert f"{mask_file}: mask ids [7] are neither class ids 0..3 (4 classes) nor the ignore label 255" in result.stderr
