"""SSD through tools/train_net.py and tools/demo.py: training on imperfect COCO data, COCO evaluation, overlays."""
import json
import os
import re

import pytest

from conftest import evaluation_results, run_tool, train_net, write_config
from d2ext.config import load_config
from d2ext.engine import Trainer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def imperfect_train_json(tiny_shapes, tmp_path_factory):
    """The tiny training split with the annotations of its first image removed and one box reaching past its image."""
    with open(os.path.join(tiny_shapes["train"], "instances.json")) as f:
        data = json.load(f)
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != data["images"][0]["id"]]
    box = data["annotations"][0]["bbox"]
    box[2] = 200 - box[0]  # the images are 128 wide
    path = tmp_path_factory.mktemp("imperfect") / "instances.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture(scope="module")
def ssd_config(tiny_config_for, tiny_shapes, imperfect_train_json, tmp_path_factory):
    base = tiny_config_for("shapes/detection/ssd_R_18.yaml")
    # the full SSD augmentation, which the shapes config turns partly off
    body = f"""
INPUT:
  SSD: {{EXPAND_PROB: 0.5, MIN_IOU_CROP: True}}
DATASETS:
  REGISTER:
    imperfect_train: {{TYPE: coco, JSON_FILE: "{imperfect_train_json}", IMAGE_ROOT: "{tiny_shapes['train']}/images"}}
  TRAIN: ("imperfect_train",)
"""
    return write_config(tmp_path_factory.mktemp("ssd_config") / "ssd.yaml", base, body)


@pytest.fixture(scope="module")
def trained_ssd(ssd_config, tmp_path_factory):
    return train_net(ssd_config, tmp_path_factory, "ssd")


def test_ssd_trains_on_images_without_objects_and_clips_outside_boxes(trained_ssd):
    with open(os.path.join(trained_ssd, "log.txt")) as f:
        log = f.read()
    assert "1 of" in log and "annotation boxes extend beyond the declared width/height of their image" in log
    assert "images with no usable annotations" not in log  # not filtered out: the empty image trains as background
    bbox = evaluation_results(trained_ssd)["results"]["tiny_val"]["bbox"]
    assert {"AP", "AP50", "AP75", "AP-circle", "AP-square", "AP-triangle"} <= set(bbox)
    assert os.path.getsize(os.path.join(trained_ssd, "model_final.pth")) > 0


def test_ssd_demo_draws_the_detections_above_the_confidence_threshold(ssd_config, tiny_shapes, trained_ssd, tmp_path):
    images = os.path.join(tiny_shapes["val"], "images")
    counts = {}
    for threshold in ("0.0", "0.9"):
        output = tmp_path / threshold
        result = run_tool("demo.py", "--config-file", ssd_config, "--input", images, "--output", str(output),
                          "--confidence-threshold", threshold,
                          "--opts", "MODEL.WEIGHTS", os.path.join(trained_ssd, "model_final.pth"))
        assert len([f for f in os.listdir(output) if f.endswith(".png")]) == 8
        counts[threshold] = [int(n) for n in re.findall(r": (\d+) detections", result.stderr + result.stdout)]
    assert len(counts["0.0"]) == 8 and min(counts["0.0"]) > 0
    assert sum(counts["0.9"]) < sum(counts["0.0"]), counts  # SSD's own SCORE_THRESH_TEST (0.01) would draw as many


def test_ssd_class_count_that_disagrees_with_the_dataset_is_refused(ssd_config):
    cfg = load_config(ssd_config, ["MODEL.SSD.NUM_CLASSES", "5", "DATALOADER.NUM_WORKERS", "0"])
    with pytest.raises(ValueError, match=r"MODEL.SSD.NUM_CLASSES = 5, but dataset 'imperfect_train' has 3 classes "
                                         r"\['circle', 'square', 'triangle'\]\. Set MODEL.SSD.NUM_CLASSES 3"):
        Trainer.build_train_loader(cfg)
