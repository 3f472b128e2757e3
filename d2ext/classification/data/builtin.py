"""
The bundled classification datasets, registered on import under datasets_root():

* ``shapes_cls_<split>``: `shapes` scenes that hold exactly one shape; the label is its class. The splits are
  ordinary shapes splits (``images/``, ``sem_seg/``, ``instances.json``) generated on first use into
  ``$D2EXT_DATASETS/shapes/cls_<split>``;
* ``digits_<split>``: scikit-learn's digits (d2ext.data.digits), ``train`` and ``test``.
"""
import json
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ...data import datasets_root
from ...data.digits import register_digits_splits
from ...data.shapes import SHAPES_CLASSES, SHAPES_COLORS, ShapesSplitSpec, ensure_split

__all__ = ["SHAPES_CLS_SPLITS", "register_shapes_cls"]

# max_objects=1: render_scene draws 1..max_objects shapes, and the first is always placed.
SHAPES_CLS_SPLITS = {
    "cls_train": ShapesSplitSpec(num_images=5000, seed=2, max_objects=1),
    "cls_val": ShapesSplitSpec(num_images=300, seed=3, max_objects=1),
}


def _load_split(split_dir, spec):
    """Classification records ``{"file_name", "image_id", "label", "height", "width"}`` of a split."""
    ensure_split(split_dir, spec)
    with open(os.path.join(split_dir, "instances.json")) as f:
        coco = json.load(f)
    label_of = {ann["image_id"]: ann["category_id"] - 1 for ann in coco["annotations"]}
    return [{"file_name": os.path.join(split_dir, "images", image["file_name"]), "image_id": image["id"],
             "label": label_of[image["id"]], "height": image["height"], "width": image["width"]}
            for image in coco["images"]]


def register_shapes_cls(root):
    """Register ``shapes_<split>`` for every split in SHAPES_CLS_SPLITS, generated under `root`/shapes."""
    for split, spec in SHAPES_CLS_SPLITS.items():
        name = f"shapes_{split}"
        split_dir = os.path.join(root, "shapes", split)
        DatasetCatalog.register(name, lambda d=split_dir, s=spec: _load_split(d, s))
        MetadataCatalog.get(name).set(
            thing_classes=list(SHAPES_CLASSES),
            thing_colors=[list(c) for c in SHAPES_COLORS],
            image_root=os.path.join(split_dir, "images"),
            evaluator_type="classification",
        )


register_shapes_cls(datasets_root())
register_digits_splits(datasets_root(), "digits_{}", "classification")
