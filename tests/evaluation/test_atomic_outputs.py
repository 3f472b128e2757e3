"""Evaluation files appear complete or not at all: a failed evaluation leaves the previous one's files."""
import os

import pytest
import torch
from detectron2.data import DatasetCatalog
from detectron2.evaluation import COCOEvaluator
from detectron2.structures import Boxes, Instances

from d2ext.config import load_config
from d2ext.evaluation import StagedOutputs, build_evaluator


def _ground_truth_as_predictions(records, shift=0.0):
    """detectron2 (inputs, outputs) whose predicted boxes are each record's boxes moved by `shift` pixels."""
    inputs, outputs = [], []
    for record in records:
        boxes = torch.tensor([[x + shift, y, x + w + shift, y + h] for x, y, w, h in
                              (a["bbox"] for a in record["annotations"])], dtype=torch.float32)
        instances = Instances((record["height"], record["width"]), pred_boxes=Boxes(boxes),
                              scores=torch.ones(len(boxes)),
                              pred_classes=torch.tensor([a["category_id"] for a in record["annotations"]]))
        inputs.append({"image_id": record["image_id"]})
        outputs.append({"instances": instances})
    return inputs, outputs


def _evaluate(evaluator, records, shift=0.0):
    evaluator.reset()
    evaluator.process(*_ground_truth_as_predictions(records, shift))
    return evaluator.evaluate()


class _FailsAfterSavingPredictions(COCOEvaluator):
    """COCOEvaluator that fails (as a kill would stop it) after writing instances_predictions.pth."""

    def _eval_predictions(self, predictions, img_ids=None):
        raise RuntimeError("stopped during evaluation")


def test_coco_files_appear_whole_and_a_failed_evaluation_leaves_the_previous_ones(tiny_config, tmp_path):
    cfg = load_config(tiny_config)
    records = DatasetCatalog.get("tiny_val")
    evaluator = build_evaluator(cfg, "tiny_val", str(tmp_path))
    assert _evaluate(evaluator, records)["bbox"]["AP"] == pytest.approx(100.0)
    names = ["coco_instances_results.json", "instances_predictions.pth"]
    assert sorted(os.listdir(tmp_path)) == names  # no staging folder left
    before = {name: (tmp_path / name).read_bytes() for name in names}

    failing = StagedOutputs(lambda folder: _FailsAfterSavingPredictions("tiny_val", output_dir=folder), str(tmp_path))
    with pytest.raises(RuntimeError, match="stopped during evaluation"):
        _evaluate(failing, records, shift=3.0)
    assert sorted(os.listdir(tmp_path)) == names
    assert {name: (tmp_path / name).read_bytes() for name in names} == before

    # A staging folder left by a kill is removed by the next evaluation, even of an evaluator built before it.
    os.makedirs(tmp_path / ".staging-killed")
    assert _evaluate(evaluator, records, shift=3.0)["bbox"]["AP"] < 100.0
    assert sorted(os.listdir(tmp_path)) == names
    assert (tmp_path / "instances_predictions.pth").read_bytes() != before["instances_predictions.pth"]
