"""Bad COCO input raises DatasetError naming the file, the field and the value; boxes outside their image are logged."""
import copy
import json
import logging
import os
import re
import shutil

import pytest
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog

from d2ext.config import get_cfg
from d2ext.data import DatasetError, build_mapper, register_declared_datasets
from d2ext.data.datasets import check_coco_json, load_checked_coco_json


@pytest.fixture
def coco_copy(tiny_shapes, tmp_path):
    """A writable copy of the tiny val split: (json path, image root, parsed JSON)."""
    root = tmp_path / "copy"
    shutil.copytree(tiny_shapes["val"], root)
    json_file = root / "instances.json"
    with open(json_file) as f:
        return str(json_file), str(root / "images"), json.load(f)


def _rewrite(json_file, data):
    with open(json_file, "w") as f:
        json.dump(data, f)


def test_valid_file_passes(coco_copy):
    json_file, image_root, _ = coco_copy
    check_coco_json(json_file, image_root)


def test_missing_json_and_image_root(coco_copy, tmp_path):
    json_file, image_root, _ = coco_copy
    with pytest.raises(DatasetError, match=r"missing\.json: annotation file does not exist.*JSON_FILE"):
        check_coco_json(str(tmp_path / "missing.json"), image_root)
    with pytest.raises(DatasetError, match=r"no_images: image root is not a directory.*IMAGE_ROOT"):
        check_coco_json(json_file, str(tmp_path / "no_images"))


@pytest.mark.parametrize("content, message", [
    ("{not json", r"instances\.json: not valid JSON"),
    ("[1, 2]", r"instances\.json: not a COCO instances file: the top level is a list"),
    ('{"images": [], "categories": []}', r"instances\.json: not a COCO instances file: top-level field 'annotations' is missing"),
    ('{"images": {}, "annotations": [], "categories": []}', r"field 'images' is dict, not a list"),
])
def test_not_coco(coco_copy, content, message):
    json_file, image_root, _ = coco_copy
    with open(json_file, "w") as f:
        f.write(content)
    with pytest.raises(DatasetError, match=message):
        check_coco_json(json_file, image_root)


def test_unknown_category_id(coco_copy):
    json_file, image_root, data = coco_copy
    data["annotations"][2]["category_id"] = 99
    _rewrite(json_file, data)
    ann_id = data["annotations"][2]["id"]
    with pytest.raises(DatasetError, match=rf"instances\.json: annotation id={ann_id}: field 'category_id' = 99 is not among the ids in 'categories' \(\[1, 2, 3\]\)"):
        check_coco_json(json_file, image_root)


@pytest.mark.parametrize("bbox", [[10, 10, 0, 5], [10, 10, 5, -1], [10, 10, float("nan"), 4]])
def test_degenerate_box(coco_copy, bbox):
    json_file, image_root, data = coco_copy
    data["annotations"][0]["bbox"] = bbox
    _rewrite(json_file, data)
    with pytest.raises(DatasetError, match=r"annotation id=1 \(image_id=0\): field 'bbox' = .* is degenerate"):
        check_coco_json(json_file, image_root)


def test_annotation_of_undeclared_image(coco_copy):
    json_file, image_root, data = coco_copy
    data["annotations"][0]["image_id"] = 12345
    _rewrite(json_file, data)
    with pytest.raises(DatasetError, match=r"annotation id=1: field 'image_id' = 12345 is not the id of any entry"):
        check_coco_json(json_file, image_root)


def test_missing_image_file(coco_copy):
    json_file, image_root, _ = coco_copy
    os.remove(os.path.join(image_root, "000005.png"))
    with pytest.raises(DatasetError, match=r"1 of 8 images named in field 'file_name' do not exist under .*images, e\.g\. \['000005\.png'\]"):
        check_coco_json(json_file, image_root)


def _declare(cfg, name, **entry):
    cfg.DATASETS.REGISTER[name] = CfgNode(entry)


def test_unreadable_image_names_the_file(coco_copy):
    json_file, image_root, _ = coco_copy
    with open(os.path.join(image_root, "000002.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n truncated")
    cfg = get_cfg()
    _declare(cfg, "bad_image_set", TYPE="coco", JSON_FILE=json_file, IMAGE_ROOT=image_root)
    register_declared_datasets(cfg)
    record = next(d for d in DatasetCatalog.get("bad_image_set") if d["file_name"].endswith("000002.png"))
    with pytest.raises(DatasetError, match=r"000002\.png: cannot read this image"):
        build_mapper(cfg, is_train=True)(copy.deepcopy(record))


def test_declared_dataset_entries_are_checked(coco_copy):
    json_file, image_root, _ = coco_copy
    cfg = get_cfg()
    _declare(cfg, "typo_set", TYPE="coco", JSON_FILE=json_file, IMAGE_DIR=image_root)
    with pytest.raises(DatasetError, match=r"DATASETS.REGISTER.typo_set \(TYPE coco\): missing key\(s\) \['IMAGE_ROOT'\]; unknown key\(s\) \['IMAGE_DIR'\]"):
        register_declared_datasets(cfg)

    cfg = get_cfg()
    _declare(cfg, "odd_type", TYPE="cocoa", JSON_FILE=json_file, IMAGE_ROOT=image_root)
    with pytest.raises(DatasetError, match=r"DATASETS.REGISTER.odd_type.TYPE = 'cocoa' is not a known dataset type; choose one of \[.*'coco'"):
        register_declared_datasets(cfg)

    cfg = get_cfg()
    _declare(cfg, "shapes_val", TYPE="coco", JSON_FILE=json_file, IMAGE_ROOT=image_root)
    with pytest.raises(DatasetError, match=r"a dataset named 'shapes_val' is already registered"):
        register_declared_datasets(cfg)


def test_declaring_again_is_idempotent(coco_copy):
    json_file, image_root, _ = coco_copy
    cfg = get_cfg()
    _declare(cfg, "twice_set", TYPE="coco", JSON_FILE=json_file, IMAGE_ROOT=image_root)
    register_declared_datasets(cfg)
    register_declared_datasets(cfg)
    assert len(DatasetCatalog.get("twice_set")) == 8


def test_boxes_outside_their_image_are_counted_in_a_warning(coco_copy, caplog):
    json_file, image_root, data = coco_copy
    sizes = {image["id"]: (image["width"], image["height"]) for image in data["images"]}
    partly, entirely = data["annotations"][0], data["annotations"][-1]
    width, height = sizes[partly["image_id"]]
    partly["bbox"] = [width - 10, 5, 20, 10]
    entirely["bbox"] = [5, sizes[entirely["image_id"]][1] + 1, 10, 10]
    _rewrite(json_file, data)
    with caplog.at_level(logging.WARNING, logger="d2ext.data.datasets.coco"):
        records = load_checked_coco_json(json_file, image_root, "outside_boxes")
    assert len(records) == 8
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert re.search(rf"instances\.json: 2 of {len(data['annotations'])} annotation boxes extend beyond the "
                     r"declared width/height of their image, 1 of them entirely outside it, "
                     rf"e\.g\. id={partly['id']} bbox=\[{width - 10}, 5, 20, 10\] in a {width}x{height} image; "
                     rf"id={entirely['id']} bbox=.*clipped to the image.*entirely outside are dropped",
                     warning.getMessage())


def test_boxes_inside_their_image_log_nothing(coco_copy, caplog):
    json_file, image_root, data = coco_copy
    width, height = data["images"][0]["width"], data["images"][0]["height"]
    data["annotations"][0]["bbox"] = [0, 0, width, height]  # touching every border is inside
    _rewrite(json_file, data)
    with caplog.at_level(logging.WARNING, logger="d2ext.data.datasets.coco"):
        check_coco_json(json_file, image_root)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("value", [0, "640", None])
def test_image_size_must_be_a_positive_number(coco_copy, value):
    json_file, image_root, data = coco_copy
    data["images"][3]["width"] = value
    _rewrite(json_file, data)
    message = rf"image id={data['images'][3]['id']}: field 'width' = {re.escape(repr(value))} is not a positive number"
    with pytest.raises(DatasetError, match=message):
        check_coco_json(json_file, image_root)
