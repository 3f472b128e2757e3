"""A shortened shapes U-Net recipe keeps its accuracy on every run of the suite (the full recipe's
target, mIoU >= 85 in at most 10 minutes, is measured by running the config itself; see the README's task table)."""
import json
import os

import pytest

from conftest import REPO, run_tool

pytestmark = pytest.mark.slow


def test_unet_light_on_a_300_iteration_schedule_reaches_60_miou(tmp_path):
    config = os.path.join(REPO, "configs/shapes/semantic_segmentation/unet_light.yaml")
    run_tool("train_net.py", "--config-file", config, "SOLVER.MAX_ITER", "300", "SOLVER.CHECKPOINT_PERIOD", "300",
             "OUTPUT_DIR", str(tmp_path), timeout=1800)  # a hang guard; alone it takes about 4 minutes
    with open(tmp_path / "evaluation_results.json") as f:
        metrics = json.load(f)["results"]["shapes_sem_seg_val"]["sem_seg"]
    # Measured: 72.3. Predicting background everywhere scores at most 25 (one class of four).
    assert metrics["mIoU"] >= 60.0, metrics
