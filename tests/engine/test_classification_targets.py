"""The shipped digits recipe meets its target on every run of the suite: top-1 >= 98% on the held-out split."""
import json
import os

import pytest

from conftest import REPO, run_tool

pytestmark = pytest.mark.slow


def test_digits_resnet18_reaches_98_percent_top1(tmp_path):
    config = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")
    run_tool("train_net.py", "--config-file", config, "OUTPUT_DIR", str(tmp_path), timeout=1800)  # a hang guard; alone it takes about 4 minutes
    with open(tmp_path / "evaluation_results.json") as f:
        metrics = json.load(f)["results"]["digits_test"]["classification"]
    assert metrics["top1"] >= 98.0, metrics
