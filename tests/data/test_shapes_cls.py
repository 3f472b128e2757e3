"""The bundled `shapes_cls` classification splits: one shape per image, labelled with its class."""
import json
import os

import cv2
import numpy as np
from detectron2.data import DatasetCatalog, MetadataCatalog

from d2ext.data.shapes import SHAPES_CLASSES


def test_builtin_splits_are_registered_with_metadata():
    for name in ("shapes_cls_train", "shapes_cls_val"):
        metadata = MetadataCatalog.get(name)
        assert metadata.thing_classes == list(SHAPES_CLASSES)
        assert len(metadata.thing_colors) == len(SHAPES_CLASSES)
        assert metadata.evaluator_type == "classification"


def test_label_is_the_single_drawn_shape():
    records = DatasetCatalog.get("shapes_cls_val")
    assert len(records) == 300
    split_dir = os.path.dirname(os.path.dirname(records[0]["file_name"]))
    with open(os.path.join(split_dir, "instances.json")) as f:
        assert len(json.load(f)["annotations"]) == 300
    for record in records:
        assert (record["height"], record["width"]) == (128, 128)
        sem_seg = cv2.imread(os.path.join(split_dir, "sem_seg", os.path.basename(record["file_name"])),
                             cv2.IMREAD_UNCHANGED)
        assert np.unique(sem_seg).tolist() == [0, record["label"] + 1]
    assert {record["label"] for record in records} == {0, 1, 2}
