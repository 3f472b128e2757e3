"""tools/export_model.py, then the export evaluated by train_net --eval-only --backend and run by demo --backend."""
import json
import os

import cv2
import numpy as np
import pytest
import torch
from detectron2.data.detection_utils import read_image
from detectron2.modeling import build_model

from conftest import REPO, evaluation_results, run_tool

from d2ext.checkpoint import SafeCheckpointer
from d2ext.config import load_config
from d2ext.engine import Predictor

pytestmark = pytest.mark.slow

DIGITS = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")


def export(config, export_format, weights, output, *opts):
    run_tool("export_model.py", "--config-file", config, "--format", export_format, "--output", output,
             "--check-images", "4", "MODEL.WEIGHTS", weights, *opts)
    with open(os.path.join(output, "export.json")) as f:
        return json.load(f)


def eval_only(config, weights, output_dir, backend="pytorch", *opts):
    run_tool("train_net.py", "--config-file", config, "--eval-only", "--backend", backend,
             "MODEL.WEIGHTS", weights, "OUTPUT_DIR", output_dir, *opts)
    (results,) = evaluation_results(output_dir)["results"].values()
    return results


def test_exported_classifier_evaluates_to_the_pytorch_top1(digits_classifier, tmp_path):
    manifest = export(DIGITS, "onnx", digits_classifier, str(tmp_path / "onnx"))
    assert manifest["format"] == "onnx" and manifest["graphs"] == {"model": "model.onnx"}
    assert manifest["max_differences"]["pred_logits"] <= 1e-4
    pytorch = eval_only(DIGITS, digits_classifier, str(tmp_path / "eval_pytorch"))["classification"]
    onnx = eval_only(DIGITS, str(tmp_path / "onnx"), str(tmp_path / "eval_onnx"), "onnxruntime")["classification"]
    assert abs(onnx["top1"] - pytorch["top1"]) <= 0.1 and abs(onnx["top5"] - pytorch["top5"]) <= 0.1


def test_exported_detector_evaluates_to_the_pytorch_ap_and_writes_coco_json(trained, tiny_config, tiny_shapes, tmp_path):
    weights = os.path.join(trained, "model_final.pth")
    export(tiny_config, "torchscript", weights, str(tmp_path / "ts"))
    exported = eval_only(tiny_config, str(tmp_path / "ts"), str(tmp_path / "eval_ts"), "torchscript",
                         "TEST.IMS_PER_BATCH", "1")["bbox"]
    pytorch = eval_only(tiny_config, weights, str(tmp_path / "eval_pytorch"), "pytorch", "TEST.IMS_PER_BATCH", "1")["bbox"]
    assert abs(exported["AP"] - pytorch["AP"]) <= 0.1 and abs(exported["AP50"] - pytorch["AP50"]) <= 0.1

    images = os.path.join(tiny_shapes["val"], "images")
    run_tool("demo.py", "--config-file", tiny_config, "--input", images, "--output", str(tmp_path / "demo"),
             "--backend", "torchscript", "--output-format", "both", "--confidence-threshold", "0.1",
             "MODEL.WEIGHTS", str(tmp_path / "ts"))  # above the exported 0.05: filtered after the graph
    name = sorted(os.listdir(images))[0]
    stem = os.path.join(tmp_path / "demo", os.path.splitext(name)[0])
    assert os.path.isfile(stem + ".png")
    with open(stem + ".json") as f:
        record = json.load(f)
    cfg = load_config(tiny_config, ["MODEL.WEIGHTS", weights, "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.1"])
    instances = Predictor(cfg)(read_image(os.path.join(images, name), format="BGR"))["instances"]
    assert record["file_name"] == os.path.join(images, name) and len(record["instances"]) == len(instances) > 0
    first = record["instances"][0]
    assert set(first) == {"category_id", "category_name", "bbox", "score"}
    x0, y0, x1, y1 = instances.pred_boxes.tensor[0].tolist()
    np.testing.assert_allclose(first["bbox"], [x0, y0, x1 - x0, y1 - y0], atol=0.01)  # COCO's XYWH
    assert first["score"] == pytest.approx(instances.scores[0].item(), abs=1e-4)


def test_demo_writes_segmenter_class_ids_as_png(tiny_shapes, tmp_path):
    config = os.path.join(REPO, "configs/shapes/semantic_segmentation/unet_light.yaml")
    cfg = load_config(config, ["MODEL.DEVICE", "cpu"])
    torch.manual_seed(0)
    SafeCheckpointer(build_model(cfg), save_dir=str(tmp_path)).save("random")
    weights = str(tmp_path / "random.pth")
    image_path = os.path.join(tiny_shapes["val"], "images", sorted(os.listdir(os.path.join(tiny_shapes["val"], "images")))[0])
    odd = str(tmp_path / "odd.png")  # a size that is no multiple of the U-Net's 16
    cv2.imwrite(odd, cv2.resize(cv2.imread(image_path), (141, 97)))
    run_tool("demo.py", "--config-file", config, "--input", odd, "--output", str(tmp_path / "demo"),
             "--output-format", "json", "MODEL.WEIGHTS", weights)
    assert sorted(os.listdir(tmp_path / "demo")) == ["odd.json", "odd_classes.png"]
    ids = cv2.imread(str(tmp_path / "demo" / "odd_classes.png"), cv2.IMREAD_UNCHANGED)
    expected = Predictor(load_config(config, ["MODEL.WEIGHTS", weights]))(read_image(odd, format="BGR"))["sem_seg"].argmax(0)
    assert ids.dtype == np.uint8 and ids.shape == (97, 141)
    np.testing.assert_array_equal(ids, expected.numpy())
    with open(tmp_path / "demo" / "odd.json") as f:
        record = json.load(f)
    assert record["classes_png"] == "odd_classes.png"
    assert [c["id"] for c in record["classes"]] == sorted(np.unique(ids).tolist())
