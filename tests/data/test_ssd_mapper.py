"""SSDDatasetMapper: S x S images, boxes seen by the crop, centre-outside boxes dropped, empty instances."""
import copy
import os

import numpy as np
import pytest
import torch
from detectron2.data import transforms as T
from detectron2.data.datasets import load_coco_json
from detectron2.structures import BoxMode
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import DatasetError, build_mapper
from d2ext.ssd.data import SSDDatasetMapper

SIZE = 64


def ssd_cfg(**overrides):
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "SSDDatasetMapper"
    cfg.MODEL.SSD.IMAGE_SIZE = SIZE
    cfg.merge_from_list([item for kv in overrides.items() for item in kv])
    return cfg


@pytest.fixture(scope="module")
def records(tiny_shapes):
    """Dataset dicts of the tiny train split: 128 x 128 images with 1-5 shapes (category ids as in the JSON)."""
    split = tiny_shapes["train"]
    return load_coco_json(os.path.join(split, "instances.json"), os.path.join(split, "images"))[:8]


@pytest.fixture
def image_file(tmp_path):
    """A 40 x 80 (H x W) RGB PNG."""
    path = tmp_path / "image.png"
    Image.fromarray(np.random.RandomState(0).randint(0, 256, (40, 80, 3), np.uint8)).save(path)
    return str(path)


def _annotation(box, category_id=0, iscrowd=0):
    return {"bbox": list(box), "bbox_mode": BoxMode.XYXY_ABS, "category_id": category_id, "iscrowd": iscrowd}


def test_training_gives_ssd_sized_images_and_boxes_inside(records):
    mapper = build_mapper(ssd_cfg(**{"INPUT.SSD.EXPAND_PROB": 1.0}), is_train=True)
    for seed in range(5):
        np.random.seed(seed)
        for record in records:
            mapped = mapper(record)
            assert mapped["image"].shape == (3, SIZE, SIZE) and mapped["image"].dtype == torch.uint8
            instances = mapped["instances"]
            assert instances.image_size == (SIZE, SIZE)
            boxes = instances.gt_boxes.tensor
            assert ((boxes >= 0) & (boxes <= SIZE)).all() and (boxes[:, 2:] > boxes[:, :2]).all()
            assert set(instances.gt_classes.tolist()) <= {obj["category_id"] for obj in record["annotations"]}
            assert len(instances) <= len(record["annotations"])


def test_the_crop_sees_the_boxes_and_never_adds_any(records):
    # Only crop and resize: a training image that differs from the test image was cropped.
    cfg = ssd_cfg(**{"INPUT.SSD.PHOTOMETRIC_DISTORTION": False, "INPUT.SSD.EXPAND_PROB": 0.0,
                     "INPUT.RANDOM_FLIP": "none"})
    train, test = build_mapper(cfg, is_train=True), build_mapper(cfg, is_train=False)
    cropped = fewer = 0
    for record in records:
        uncropped = test(record)["image"]
        for seed in range(10):
            np.random.seed(seed)
            mapped = train(record)
            cropped += not torch.equal(mapped["image"], uncropped)
            assert len(mapped["instances"]) <= len(record["annotations"])
            fewer += len(mapped["instances"]) < len(record["annotations"])
    # IoUConstrainedCrop keeps the whole image with probability 1/7 per draw; with boxes it must satisfy
    # their IoU, so some draws are redrawn: most mappings are cropped, and some crops lose boxes.
    assert 40 <= cropped < 80 and fewer > 0


def test_boxes_whose_centre_leaves_the_crop_are_dropped(image_file):
    mapper = SSDDatasetMapper(is_train=True, augmentations=[T.CropTransform(20, 0, 40, 40)], image_format="RGB")
    record = {"file_name": image_file, "height": 40, "width": 80, "annotations": [
        _annotation([25, 5, 35, 15], 0),   # centre (30, 10): inside, kept
        _annotation([0, 5, 30, 15], 1),    # centre (15, 10): left of the crop although the box overlaps it
        _annotation([10, 20, 30, 30], 1),  # centre (20, 25): on the crop's left edge, dropped
        _annotation([45, 0, 70, 10], 2),   # centre (57.5, 5): inside, the box is clipped to the crop
        _annotation([25, 20, 35, 30], 1, iscrowd=1),
    ]}
    original = copy.deepcopy(record)
    instances = mapper(record)["instances"]
    np.testing.assert_allclose(instances.gt_boxes.tensor.numpy(), [[5, 5, 15, 15], [25, 0, 40, 10]])
    assert instances.gt_classes.tolist() == [0, 2]
    assert record == original  # the input dict is not modified


@pytest.mark.parametrize("annotations", [None, [], [_annotation([0, 5, 30, 15])]],
                         ids=["missing", "empty", "all-dropped"])
def test_no_boxes_give_empty_instances(image_file, annotations):
    mapper = SSDDatasetMapper(is_train=True, augmentations=[T.CropTransform(20, 0, 40, 40), T.Resize((SIZE, SIZE))],
                              image_format="RGB")
    record = {"file_name": image_file}
    if annotations is not None:
        record["annotations"] = annotations
    instances = mapper(record)["instances"]
    assert len(instances) == 0 and instances.image_size == (SIZE, SIZE)
    assert instances.gt_boxes.tensor.shape == (0, 4)
    assert instances.gt_classes.shape == (0,) and instances.gt_classes.dtype == torch.int64


def test_full_training_pipeline_on_an_image_without_annotations(image_file):
    mapper = build_mapper(ssd_cfg(**{"INPUT.SSD.EXPAND_PROB": 1.0}), is_train=True)
    for seed in range(5):
        np.random.seed(seed)
        mapped = mapper({"file_name": image_file, "height": 40, "width": 80, "annotations": []})
        assert mapped["image"].shape == (3, SIZE, SIZE) and len(mapped["instances"]) == 0


def test_test_time_resizes_and_drops_annotations(records):
    record = records[0]
    mapped = build_mapper(ssd_cfg(), is_train=False)(record)
    assert mapped["image"].shape == (3, SIZE, SIZE)
    assert "annotations" not in mapped and "instances" not in mapped
    assert (mapped["height"], mapped["width"]) == (128, 128)  # the original size, for the evaluator
    assert "annotations" in record


def test_missing_image_names_the_file(tmp_path):
    missing = str(tmp_path / "missing.png")
    with pytest.raises(DatasetError, match=f"{missing}: cannot read this image"):
        build_mapper(ssd_cfg(), is_train=True)({"file_name": missing, "annotations": []})
