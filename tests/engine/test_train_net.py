"""tools/train_net.py end to end: real training, checkpoints, COCO evaluation, --eval-only, 2 CPU processes."""
import os

import pytest

from conftest import evaluation_results, run_tool

pytestmark = pytest.mark.slow


def test_training_writes_checkpoints_and_coco_results(trained):
    for name in ("model_0000002.pth", "model_final.pth", "last_checkpoint", "metrics.json", "config.yaml"):
        assert os.path.getsize(os.path.join(trained, name)) > 0
    with open(os.path.join(trained, "last_checkpoint")) as f:
        assert f.read().strip() == "model_final.pth"
    results = evaluation_results(trained)
    assert results["iteration"] == 6  # detectron2 storage iteration at the final evaluation: MAX_ITER
    bbox = results["results"]["tiny_val"]["bbox"]
    assert {"AP", "AP50", "AP75", "APs", "APm", "AP-circle", "AP-square", "AP-triangle"} <= set(bbox)
    assert os.path.isfile(os.path.join(trained, "inference", "tiny_val", "coco_instances_results.json"))


def test_eval_only_reports_ap_of_the_given_weights(trained, tiny_config, tmp_path):
    weights = os.path.join(trained, "model_final.pth")
    run_tool("train_net.py", "--config-file", tiny_config, "--eval-only",
             "MODEL.WEIGHTS", weights, "OUTPUT_DIR", str(tmp_path))
    results = evaluation_results(str(tmp_path))
    assert results["weights"] == weights and results["iteration"] is None
    assert results["results"]["tiny_val"]["bbox"] == evaluation_results(trained)["results"]["tiny_val"]["bbox"]


def test_resume_continues_from_last_checkpoint(trained, tiny_config, tmp_path):
    run_tool("train_net.py", "--config-file", tiny_config, "--resume", "SOLVER.MAX_ITER", "8", "OUTPUT_DIR", trained)
    with open(os.path.join(trained, "log.txt")) as f:
        log = f.read()
    assert "Starting training from iteration 6" in log
    assert evaluation_results(trained)["iteration"] == 8


def test_two_cpu_processes_train_over_gloo(tiny_config, tmp_path):
    run_tool("train_net.py", "--config-file", tiny_config, "--num-gpus", "2", "--dist-url", "auto",
             "SOLVER.MAX_ITER", "3", "OUTPUT_DIR", str(tmp_path))
    for log_name in ("log.txt", "log.txt.rank1"):
        with open(tmp_path / log_name) as f:
            assert "World size: 2" in f.read()
    assert os.path.isfile(tmp_path / "model_final.pth")
    assert "bbox" in evaluation_results(str(tmp_path))["results"]["tiny_val"]


def test_mask_rcnn_reports_box_and_mask_ap(tiny_config_for, tmp_path):
    config = tiny_config_for("shapes/instance_segmentation/mask_rcnn_R_18_FPN.yaml")
    run_tool("train_net.py", "--config-file", config, "SOLVER.MAX_ITER", "3", "OUTPUT_DIR", str(tmp_path / "out"))
    results = evaluation_results(str(tmp_path / "out"))["results"]["tiny_val"]
    assert {"AP", "AP50", "AP75"} <= set(results["bbox"]) and {"AP", "AP50", "AP75"} <= set(results["segm"])


def test_demo_cascade_rcnn_trains_its_three_box_heads_and_reports_box_ap(tiny_config_for, tmp_path):
    config = tiny_config_for("shapes/detection/cascade_rcnn_R_18_FPN.yaml")
    run_tool("train_net.py", "--config-file", config, "SOLVER.MAX_ITER", "3", "OUTPUT_DIR", str(tmp_path / "out"))
    with open(tmp_path / "out" / "metrics.json") as f:
        losses = f.read()
    assert all(f"loss_box_reg_stage{stage}" in losses for stage in range(3))
    bbox = evaluation_results(str(tmp_path / "out"))["results"]["tiny_val"]["bbox"]
    assert {"AP", "AP50", "AP75", "AP-circle", "AP-square", "AP-triangle"} <= set(bbox)
