"""Image classification metrics: top-1/top-5 and per-class accuracy, confusion matrix, predictions."""
import io
import itertools
import logging
import os

import numpy as np
from detectron2.data import MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm
from detectron2.utils.logger import create_small_table
from matplotlib.figure import Figure

from ..utils.file_io import atomic_write_bytes, atomic_write_json
from ..evaluation import EVALUATOR_REGISTRY

__all__ = ["ClassificationEvaluator"]

# Confusion matrix plots write the counts in the cells up to this many classes, and the class
# names along the axes up to _MAX_CLASSES_WITH_NAMES: beyond, text is unreadable and slow to draw.
_MAX_CLASSES_WITH_COUNTS = 30
_MAX_CLASSES_WITH_NAMES = 50


class ClassificationEvaluator(DatasetEvaluator):
    """
    Accuracy of an image classifier over a dataset whose metadata has ``thing_classes`` (C names).

    Results, in percent, under the key "classification":

    * "top1": the predicted class (``pred_class``) is the label;
    * "top5" (only when C >= 5): the label is among the 5 highest ``scores``;
    * "acc-<class name>": top-1 accuracy over the images of that class; NaN for a class without
      images (as COCOEvaluator's AP-<class>);
    * "mean_class_acc": the mean of the per-class accuracies over the classes that have images.

    With an `output_dir`, the main process also writes there ``confusion_matrix.json``
    ({"classes": names, "matrix": C x C counts, rows = true class, columns = predicted class}),
    its plot ``confusion_matrix.png`` (colours normalised per row) and
    ``classification_predictions.json`` (per image: file_name, label, pred_class and the indices
    and scores of the top-5, or top-C when C < 5, classes).
    """

    def __init__(self, dataset_name, distributed=True, output_dir=None):
        """
        Args:
            dataset_name (str): a dataset registered with ``thing_classes`` in MetadataCatalog.
            distributed (bool): gather the images of all processes and evaluate them in the main
                process (the others return {}); otherwise evaluate the images of this process only.
            output_dir (str or None): where to write the files listed above.
        """
        self._logger = logging.getLogger(__name__)
        self._dataset_name = dataset_name
        self._distributed = distributed
        self._output_dir = output_dir
        self._class_names = list(MetadataCatalog.get(dataset_name).thing_classes)
        self._top_k = min(5, len(self._class_names))

    def reset(self):
        # One small record per image rather than its C scores, which gather() would pickle (C = 1000 on ImageNet).
        self._predictions = []

    def process(self, inputs, outputs):
        """
        Args:
            inputs: dataset-mapper dicts, each with "file_name" and "label" (int in [0, C)).
            outputs: model outputs, each with "scores" (Tensor (C,), class probabilities) and
                "pred_class" (int64 scalar Tensor).
        """
        num_classes = len(self._class_names)
        for input_, output in zip(inputs, outputs):
            file_name = input_.get("file_name")
            label = input_.get("label")
            if label is None:
                raise ValueError(f"{file_name}: the input has no 'label'; the test set's dataset mapper must "
                                 "keep the class index for the evaluation.")
            if not 0 <= label < num_classes:
                raise ValueError(f"{file_name}: label {label} is outside [0, {num_classes}), the "
                                 f"thing_classes of dataset '{self._dataset_name}'.")
            scores = output["scores"]
            if scores.shape != (num_classes,):
                raise ValueError(f"{file_name}: scores of shape {tuple(scores.shape)}, but dataset "
                                 f"'{self._dataset_name}' has {num_classes} classes.")
            top_scores, top_classes = scores.topk(self._top_k)
            self._predictions.append({
                "file_name": file_name,
                "label": int(label),
                "pred_class": int(output["pred_class"]),
                "top_classes": top_classes.tolist(),
                "top_scores": top_scores.tolist(),
            })

    def evaluate(self):
        """
        Returns:
            {"classification": {metric name: percentage}} in the main process (see the class
            docstring); {} in the other processes of a distributed evaluation, or without images.
        """
        if self._distributed:
            comm.synchronize()
            predictions = list(itertools.chain(*comm.gather(self._predictions, dst=0)))
            if not comm.is_main_process():
                return {}
        else:
            predictions = self._predictions
        if not predictions:
            self._logger.warning(f"[ClassificationEvaluator] No images of '{self._dataset_name}' were evaluated.")
            return {}

        num_classes = len(self._class_names)
        labels = np.array([p["label"] for p in predictions])
        pred_classes = np.array([p["pred_class"] for p in predictions])
        confusion = np.bincount(num_classes * labels + pred_classes,
                                minlength=num_classes**2).reshape(num_classes, num_classes)
        images_per_class = confusion.sum(axis=1)
        has_images = images_per_class > 0
        class_acc = np.full(num_classes, np.nan)
        class_acc[has_images] = confusion.diagonal()[has_images] / images_per_class[has_images]

        results = {"top1": 100 * float(np.mean(labels == pred_classes))}
        if num_classes >= 5:
            results["top5"] = 100 * float(np.mean([p["label"] in p["top_classes"] for p in predictions]))
        results["mean_class_acc"] = 100 * float(class_acc[has_images].mean())
        self._logger.info(f"Evaluation results for classification on {len(predictions)} images:\n"
                          + create_small_table(results))
        results.update({f"acc-{name}": 100 * float(acc) for name, acc in zip(self._class_names, class_acc)})

        if self._output_dir and comm.is_main_process():
            self._write_files(confusion, predictions)
        return {"classification": results}

    def _write_files(self, confusion, predictions):
        atomic_write_json(os.path.join(self._output_dir, "confusion_matrix.json"),
                          {"classes": self._class_names, "matrix": confusion.tolist()})
        atomic_write_bytes(os.path.join(self._output_dir, "confusion_matrix.png"),
                           _plot_confusion_matrix(confusion, self._class_names))
        atomic_write_json(os.path.join(self._output_dir, "classification_predictions.json"), predictions)


def _plot_confusion_matrix(confusion, class_names):
    """
    Args:
        confusion: (C, C) int counts, rows = true class, columns = predicted class.
        class_names: the C names.
    Returns:
        bytes of a PNG whose colours are the fraction of each row (true class).
    """
    num_classes = len(class_names)
    fraction = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = min(3 + 0.25 * num_classes, 16)
    figure = Figure(figsize=(size + 1.5, size))
    axes = figure.add_subplot()
    image = axes.imshow(fraction, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    figure.colorbar(image, ax=axes, label="fraction of the true class")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if num_classes <= _MAX_CLASSES_WITH_NAMES:
        axes.set_xticks(range(num_classes), class_names, rotation=90)
        axes.set_yticks(range(num_classes), class_names)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
    if num_classes <= _MAX_CLASSES_WITH_COUNTS:
        for (true_class, pred_class), count in np.ndenumerate(confusion):
            axes.text(pred_class, true_class, count, ha="center", va="center", fontsize=7,
                      color="white" if fraction[true_class, pred_class] > 0.5 else "black")
    buffer = io.BytesIO()
    # A Figure made without pyplot renders the PNG with Agg and leaves pyplot's global backend alone.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


@EVALUATOR_REGISTRY.register()
def classification(cfg, dataset_name, output_dir):
    """Top-1/top-5 and per-class accuracy and a confusion matrix (ClassificationEvaluator)."""
    return ClassificationEvaluator(dataset_name, output_dir=output_dir)
