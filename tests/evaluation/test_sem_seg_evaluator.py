"""SemanticSegmentationEvaluator: hand-computed IoUs, the JSON results, dispatch, bad ground-truth ids."""
import json

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import DatasetError
from d2ext.evaluation import build_evaluator
from d2ext.semantic_seg.evaluation import SemanticSegmentationEvaluator

CLASSES = ["road", "car", "tree"]
GROUND_TRUTH = np.array([
    [0, 0, 1, 1],
    [0, 0, 1, 1],
    [2, 2, 255, 255],
    [2, 2, 2, 2],
], np.uint8)
PREDICTION = np.array([
    [0, 1, 1, 1],
    [0, 0, 1, 1],
    [2, 2, 0, 1],  # the ignored pixels count for nothing
    [2, 2, 2, 0],
])
# Per class: true positives / (ground truth + predicted on scored pixels - true positives).
IOU = {"road": 3 / (4 + 4 - 3), "car": 4 / (4 + 5 - 4), "tree": 5 / (6 + 5 - 5)}
ACC = {"road": 3 / 4, "car": 4 / 4, "tree": 5 / 6}


def _register(name, tmp_path, ground_truth, evaluator_type="sem_seg"):
    """Dataset `name` of one image "<name>.jpg" (never read) whose mask is `ground_truth`."""
    Image.fromarray(ground_truth).save(tmp_path / f"{name}.png")
    records = [{"file_name": f"{name}.jpg", "sem_seg_file_name": str(tmp_path / f"{name}.png")}]
    DatasetCatalog.register(name, lambda: records)
    MetadataCatalog.get(name).set(stuff_classes=CLASSES, ignore_label=255, evaluator_type=evaluator_type)


def _evaluate(evaluator, name, prediction):
    logits = torch.nn.functional.one_hot(torch.as_tensor(prediction).long(), len(CLASSES)).permute(2, 0, 1).float()
    evaluator.reset()
    evaluator.process([{"file_name": f"{name}.jpg"}], [{"sem_seg": logits}])
    return evaluator.evaluate()


def test_perfect_prediction_scores_100_and_writes_the_json(tmp_path):
    name = "test_sem_seg_evaluator_perfect"
    _register(name, tmp_path, GROUND_TRUTH)
    evaluator = build_evaluator(get_cfg(), name, str(tmp_path / "eval"))
    assert isinstance(evaluator.evaluator, SemanticSegmentationEvaluator)  # inside StagedOutputs
    results = _evaluate(evaluator, name, np.where(GROUND_TRUTH == 255, 0, GROUND_TRUTH))
    assert results["sem_seg"]["mIoU"] == 100 and results["sem_seg"]["pACC"] == 100
    assert all(results["sem_seg"][f"IoU-{c}"] == 100 for c in CLASSES)
    with open(tmp_path / "eval" / "sem_seg_evaluation.json") as f:
        assert json.load(f) == json.loads(json.dumps(results))


def test_partial_prediction_gives_the_hand_computed_scores(tmp_path):
    name = "test_sem_seg_evaluator_partial"
    _register(name, tmp_path, GROUND_TRUTH)
    results = _evaluate(SemanticSegmentationEvaluator(name), name, PREDICTION)["sem_seg"]
    for c in CLASSES:
        assert results[f"IoU-{c}"] == pytest.approx(100 * IOU[c])
        assert results[f"ACC-{c}"] == pytest.approx(100 * ACC[c])
    assert results["mIoU"] == pytest.approx(100 * np.mean(list(IOU.values())))  # 74.44
    assert results["fwIoU"] == pytest.approx(100 * (4 * IOU["road"] + 4 * IOU["car"] + 6 * IOU["tree"]) / 14)
    assert results["pACC"] == pytest.approx(100 * 12 / 14)
    assert results["mACC"] == pytest.approx(100 * np.mean(list(ACC.values())))


def test_cityscapes_sem_seg_uses_the_same_evaluator(tmp_path):
    name = "test_sem_seg_evaluator_cityscapes"
    _register(name, tmp_path, GROUND_TRUTH, evaluator_type="cityscapes_sem_seg")
    evaluator = build_evaluator(get_cfg(), name, None)
    assert isinstance(evaluator.evaluator, SemanticSegmentationEvaluator)
    assert _evaluate(evaluator, name, PREDICTION)["sem_seg"]["pACC"] == pytest.approx(100 * 12 / 14)
    assert not list(tmp_path.glob("*.json"))


def test_ground_truth_ids_beyond_the_classes_name_the_mask(tmp_path):
    name = "test_sem_seg_evaluator_bad_ids"
    _register(name, tmp_path, np.where(GROUND_TRUTH == 2, 5, GROUND_TRUTH).astype(np.uint8))
    with pytest.raises(DatasetError, match=rf"{name}\.png: mask ids \[5\] are neither class ids 0\.\.2 \(3 classes\) "
                                           r"nor the ignore label 255"):
        _evaluate(SemanticSegmentationEvaluator(name), name, PREDICTION)
