"""ClassificationEvaluator: hand-computed metrics and files, dispatch, label errors, two processes."""
import json
import math
from datetime import timedelta

import cv2
import pytest
import torch
from detectron2.data import MetadataCatalog
from detectron2.engine import launch
from detectron2.evaluation import print_csv_format, verify_results
from detectron2.utils import comm

from d2ext.config import get_cfg
from d2ext.classification.evaluation import ClassificationEvaluator
from d2ext.evaluation import build_evaluator

DATASET = "test_classification_evaluator_animals"
CLASSES = ["cat", "dog", "fox", "owl", "bee", "eel"]  # no image is an owl


def _register_dataset():
    MetadataCatalog.get(DATASET).set(thing_classes=CLASSES, evaluator_type="classification")


def _image(index, label, *ranking):
    """
    One (input, output) pair: the model ranks the classes `ranking` first, in that order, then the
    others in index order; the first is its pred_class.
    """
    order = list(ranking) + [c for c in range(len(CLASSES)) if c not in ranking]
    logits = torch.empty(len(CLASSES))
    logits[order] = torch.arange(len(CLASSES), 0, -1, dtype=torch.float32)
    output = {"pred_logits": logits, "scores": logits.softmax(0), "pred_class": torch.tensor(order[0])}
    return {"file_name": f"image{index}.jpg", "label": label}, output


# (label, the classes ranked first). Top-1 hits: images 0, 3, 4, 6; the label is outside the top 5
# in images 2 and 5 only.
IMAGES = [_image(i, label, *ranking) for i, (label, ranking) in enumerate([
    (0, [0]), (0, [1, 0]), (0, [5, 4, 3, 2, 1]),  # cat: 1 of 3 right
    (1, [1]),  # dog: 1 of 1
    (2, [2]), (2, [0, 1, 3, 4, 5]),  # fox: 1 of 2
    (4, [4]),  # bee: 1 of 1
    (5, [0, 5]),  # eel: 0 of 1
])]
EXPECTED = {
    "top1": 100 * 4 / 8,
    "top5": 100 * 6 / 8,
    "mean_class_acc": 100 * (1 / 3 + 1 + 1 / 2 + 1 + 0) / 5,  # owl, without images, is left out
    "acc-cat": 100 / 3, "acc-dog": 100.0, "acc-fox": 50.0, "acc-owl": math.nan, "acc-bee": 100.0, "acc-eel": 0.0,
}
EXPECTED_CONFUSION = [  # rows: true class, columns: predicted class
    [1, 1, 0, 0, 0, 1],
    [0, 1, 0, 0, 0, 0],
    [1, 0, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0],
    [1, 0, 0, 0, 0, 0],
]


def _evaluate(images, output_dir, distributed=True, batch_size=3):
    evaluator = ClassificationEvaluator(DATASET, distributed=distributed, output_dir=output_dir)
    evaluator.reset()
    for start in range(0, len(images), batch_size):
        inputs, outputs = zip(*images[start:start + batch_size])
        evaluator.process(list(inputs), list(outputs))
    return evaluator.evaluate()


def test_metrics_and_files(tmp_path):
    _register_dataset()
    results = _evaluate(IMAGES, str(tmp_path))
    assert list(results) == ["classification"]
    assert list(results["classification"]) == list(EXPECTED)
    assert results["classification"] == pytest.approx(EXPECTED, nan_ok=True)
    assert all(type(value) is float for value in results["classification"].values())

    print_csv_format(results)
    cfg = get_cfg()
    cfg.TEST.EXPECTED_RESULTS = [["classification", "top1", 50.0, 0.01], ["classification", "acc-fox", 50.0, 0.01]]
    assert verify_results(cfg, results)

    confusion = json.loads((tmp_path / "confusion_matrix.json").read_text())
    assert confusion == {"classes": CLASSES, "matrix": EXPECTED_CONFUSION}
    png = cv2.imread(str(tmp_path / "confusion_matrix.png"))
    assert png is not None and png.shape[0] > 100 and png.shape[1] > 100
    predictions = json.loads((tmp_path / "classification_predictions.json").read_text())
    assert len(predictions) == len(IMAGES)
    assert predictions[2]["file_name"] == "image2.jpg" and predictions[2]["label"] == 0
    assert predictions[2]["pred_class"] == 5 and predictions[2]["top_classes"] == [5, 4, 3, 2, 1]
    expected_scores = IMAGES[2][1]["scores"][[5, 4, 3, 2, 1]].tolist()
    assert predictions[2]["top_scores"] == pytest.approx(expected_scores)


def test_fewer_than_five_classes_have_no_top5(tmp_path):
    MetadataCatalog.get("test_classification_evaluator_pair").set(thing_classes=["yes", "no"])
    evaluator = ClassificationEvaluator("test_classification_evaluator_pair", output_dir=str(tmp_path))
    evaluator.reset()
    scores = torch.tensor([0.3, 0.7])
    evaluator.process([{"file_name": "a.jpg", "label": 1}], [{"scores": scores, "pred_class": torch.tensor(1)}])
    results = evaluator.evaluate()["classification"]
    assert list(results) == ["top1", "mean_class_acc", "acc-yes", "acc-no"]
    assert results == pytest.approx({"top1": 100.0, "mean_class_acc": 100.0, "acc-yes": math.nan, "acc-no": 100.0},
                                    nan_ok=True)
    prediction, = json.loads((tmp_path / "classification_predictions.json").read_text())
    assert prediction["top_classes"] == [1, 0] and prediction["top_scores"] == pytest.approx([0.7, 0.3])


def test_evaluator_type_classification_builds_it(tmp_path):
    _register_dataset()
    evaluator = build_evaluator(get_cfg(), DATASET, str(tmp_path))
    assert isinstance(evaluator, ClassificationEvaluator)


@pytest.mark.parametrize("input_, message", [
    ({"file_name": "x.jpg"}, r"x\.jpg: the input has no 'label'"),
    ({"file_name": "x.jpg", "label": 6}, r"x\.jpg: label 6 is outside \[0, 6\)"),
    ({"file_name": "x.jpg", "label": -1}, r"x\.jpg: label -1 is outside \[0, 6\)"),
])
def test_missing_or_out_of_range_label_is_refused(input_, message):
    _register_dataset()
    evaluator = ClassificationEvaluator(DATASET)
    evaluator.reset()
    with pytest.raises(ValueError, match=message):
        evaluator.process([input_], [IMAGES[0][1]])


def _evaluate_half(result_dir):
    """launch() worker: evaluate every other image of IMAGES, starting at this process's rank."""
    _register_dataset()
    rank = comm.get_rank()
    results = _evaluate(IMAGES[rank::2], f"{result_dir}/two_processes", batch_size=2)
    with open(f"{result_dir}/results_rank{rank}.json", "w") as f:
        json.dump(results, f)
    # Leave together and close the group: a process that exits while gloo's threads still run aborts
    # ("terminate called without an active exception", seen once in this test).
    comm.synchronize()
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    launch(_evaluate_half, 2, dist_url="auto", args=(str(tmp_path),), timeout=timedelta(minutes=1))
    _register_dataset()
    single = _evaluate(IMAGES, str(tmp_path / "one_process"), distributed=False)

    main = json.loads((tmp_path / "results_rank0.json").read_text())
    assert main["classification"] == pytest.approx(single["classification"], nan_ok=True)
    assert json.loads((tmp_path / "results_rank1.json").read_text()) == {}
    assert ((tmp_path / "two_processes" / "confusion_matrix.json").read_text()
            == (tmp_path / "one_process" / "confusion_matrix.json").read_text())
    two = json.loads((tmp_path / "two_processes" / "classification_predictions.json").read_text())
    one = json.loads((tmp_path / "one_process" / "classification_predictions.json").read_text())
    assert sorted(two, key=lambda p: p["file_name"]) == one
