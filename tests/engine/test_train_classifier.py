"""A classifier through the same tools as a detector: train_net, eval-only, demo and visualize_data overlays."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO, evaluation_results, run_tool, train_net, write_config
from d2ext.data.shapes import SHAPES_CLASSES, ShapesSplitSpec
from d2ext.data.shapes import render_scene

pytestmark = pytest.mark.slow

ONE_SHAPE = ShapesSplitSpec(num_images=0, seed=0, image_size=32, max_objects=1, min_radius=6, max_radius=14)


def write_image_folder(root, per_class, seed):
    """An ImageFolder tree root/<shape>/<n>.png of `per_class` one-shape 32 px scenes per class."""
    counts = dict.fromkeys(SHAPES_CLASSES, 0)
    index = 0
    while min(counts.values()) < per_class:
        image, [(class_id, _)] = render_scene(np.random.default_rng([seed, index]), ONE_SHAPE)
        name = SHAPES_CLASSES[class_id]
        if counts[name] < per_class:
            os.makedirs(os.path.join(root, name), exist_ok=True)
            cv2.imwrite(os.path.join(root, name, f"{index:04d}.png"), image[:, :, ::-1])
            counts[name] += 1
        index += 1
    return str(root)


@pytest.fixture(scope="module")
def classifier_config(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_cls")
    train = write_image_folder(root / "train", per_class=6, seed=20)
    val = write_image_folder(root / "val", per_class=3, seed=21)
    body = f"""
DATASETS:
  REGISTER:
    tiny_cls_train: {{TYPE: image_folder, ROOT: "{train}"}}
    tiny_cls_val: {{TYPE: image_folder, ROOT: "{val}"}}
  TRAIN: ("tiny_cls_train",)
  TEST: ("tiny_cls_val",)
INPUT:
  CLS: {{RESIZE: 32, CROP_SIZE: 32}}
SOLVER:
  IMS_PER_BATCH: 6
  MAX_ITER: 6
  WARMUP_ITERS: 2
  CHECKPOINT_PERIOD: 3
"""
    return write_config(root / "config.yaml", os.path.join(REPO, "configs/shapes/classification/mobilenet_v3_small.yaml"), body)


@pytest.fixture(scope="module")
def trained_classifier(classifier_config, tmp_path_factory):
    return train_net(classifier_config, tmp_path_factory, "train_cls")


def test_training_writes_checkpoints_and_classification_results(trained_classifier):
    for name in ("model_0000002.pth", "model_final.pth", "metrics.json"):
        assert os.path.getsize(os.path.join(trained_classifier, name)) > 0
    metrics = evaluation_results(trained_classifier)["results"]["tiny_cls_val"]["classification"]
    assert {"top1", "mean_class_acc", "acc-circle", "acc-square", "acc-triangle"} <= set(metrics)
    assert "top5" not in metrics  # 3 classes
    with open(os.path.join(trained_classifier, "inference", "tiny_cls_val", "confusion_matrix.json")) as f:
        confusion = json.load(f)
    assert confusion["classes"] == list(SHAPES_CLASSES) and sum(map(sum, confusion["matrix"])) == 9
    assert metrics["top1"] == pytest.approx(100 * np.trace(confusion["matrix"]) / 9)
    with open(os.path.join(trained_classifier, "metrics.json")) as f:
        assert "cls_accuracy" in f.readline()


def test_resuming_a_run_killed_while_writing_model_final_writes_it(trained_classifier, classifier_config, tmp_path):
    output_dir = shutil.copytree(trained_classifier, tmp_path / "run")
    # as a kill during its write leaves it: MAX_ITER 6 is a multiple of CHECKPOINT_PERIOD 3, so model_0000005 is
    # complete and named by last_checkpoint, and model_final.pth is missing
    os.remove(output_dir / "model_final.pth")
    (output_dir / "last_checkpoint").write_text("model_0000005.pth")
    run_tool("train_net.py", "--config-file", classifier_config, "--resume", "OUTPUT_DIR", str(output_dir))
    final = torch.load(output_dir / "model_final.pth", weights_only=True)
    last = torch.load(output_dir / "model_0000005.pth", weights_only=True)
    assert final["iteration"] == 5
    assert all(torch.equal(final["model"][k], last["model"][k]) for k in last["model"])


def test_eval_only_reproduces_the_final_evaluation(trained_classifier, classifier_config, tmp_path):
    weights = os.path.join(trained_classifier, "model_final.pth")
    run_tool("train_net.py", "--config-file", classifier_config, "--eval-only", "MODEL.WEIGHTS", weights,
             "OUTPUT_DIR", str(tmp_path))
    assert evaluation_results(tmp_path)["results"] == evaluation_results(trained_classifier)["results"]


def test_demo_and_ground_truth_overlays_show_classes(trained_classifier, classifier_config, tmp_path):
    val_images = os.path.join(os.path.dirname(classifier_config), "val", "square")
    result = run_tool("demo.py", "--config-file", classifier_config, "--input", val_images, "--output",
                      str(tmp_path / "pred"), "--scale", "4", "--top-k", "2",
                      "MODEL.WEIGHTS", os.path.join(trained_classifier, "model_final.pth"))
    assert result.stdout.count(": class ") == 3  # one log line per image
    run_tool("visualize_data.py", "--config-file", classifier_config, "--dataset", "tiny_cls_val",
             "--num-images", "2", "--scale", "4", "--output-dir", str(tmp_path / "gt"))
    for folder, count, class_folder in (("pred", 3, val_images), ("gt", 2, os.path.dirname(val_images) + "/circle")):
        files = sorted(os.listdir(tmp_path / folder))
        assert len(files) == count
        overlay = cv2.imread(str(tmp_path / folder / files[0])).astype(int)
        scene = cv2.imread(os.path.join(class_folder, files[0]))
        scene = cv2.resize(scene, (128, 128), interpolation=cv2.INTER_NEAREST).astype(int)
        assert overlay.shape == scene.shape
        # the caption (text on a dark box, top-left) covers the scene there and nowhere else
        assert np.abs(overlay[4:14, 4:40] - scene[4:14, 4:40]).mean() > 40
        assert np.abs(overlay[64:, 64:] - scene[64:, 64:]).mean() < 10


def test_class_count_that_disagrees_with_the_dataset_is_refused(classifier_config, tmp_path):
    result = run_tool("train_net.py", "--config-file", classifier_config, "MODEL.CLS_HEAD.NUM_CLASSES", "5",
                      "OUTPUT_DIR", str(tmp_path), check=False)
    assert result.returncode != 0
    assert "MODEL.CLS_HEAD.NUM_CLASSES = 5, but dataset 'tiny_cls_train' has 3 classes" in result.stderr
