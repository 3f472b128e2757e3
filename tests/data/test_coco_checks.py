"""Bad COCO input raises DatasetError naming the file, the field and the value; boxes outside their image are logged.
With SKIP_INVALID, bad images and annotations are dropped and listed in a warning instead. The JSON is read once."""
import copy
import json
import logging
import os
import re
import shutil

import pytest
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import COCOEvaluator
from detectron2.structures import BoxMode

from d2ext.config import get_cfg
from d2ext.data import SHAPES_CLASSES, DatasetError, build_mapper, register_declared_datasets
from d2ext.data.coco import check_coco_json, load_checked_coco_json
from opened_files import opened_files


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


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_missing_json_and_image_root(coco_copy, tmp_path, skip_invalid):
    json_file, image_root, _ = coco_copy
    with pytest.raises(DatasetError, match=r"missing\.json: annotation file does not exist.*JSON_FILE"):
        check_coco_json(str(tmp_path / "missing.json"), image_root, skip_invalid)
    with pytest.raises(DatasetError, match=r"no_images: image root is not a directory.*IMAGE_ROOT"):
        check_coco_json(json_file, str(tmp_path / "no_images"), skip_invalid)


@pytest.mark.parametrize("content, message", [
    ("{not json", r"instances\.json: not valid JSON"),
    ("[1, 2]", r"instances\.json: not a COCO instances file: the top level is a list"),
    ('{"images": [], "categories": []}', r"instances\.json: not a COCO instances file: top-level field 'annotations' is missing"),
    ('{"images": {}, "annotations": [], "categories": []}', r"field 'images' is dict, not a list"),
    ('{"images": [], "annotations": [], "categories": []}', r"field 'categories' must be a non-empty list"),
])
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_not_coco(coco_copy, content, message, skip_invalid):
    json_file, image_root, _ = coco_copy
    with open(json_file, "w") as f:
        f.write(content)
    with pytest.raises(DatasetError, match=message):
        check_coco_json(json_file, image_root, skip_invalid)


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
    with caplog.at_level(logging.WARNING, logger="d2ext.data.coco"):
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
    with caplog.at_level(logging.WARNING, logger="d2ext.data.coco"):
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


def _corrupt(json_file, image_root, data):
    """
    Make the copy invalid in four places: an annotation with an unknown category, one with a degenerate box,
    image 5 without its file, image 3 with width 0. Returns (those two annotations, {image id: expected
    number of annotations} of the images that remain).
    """
    unknown, degenerate = [a for a in data["annotations"] if a["image_id"] not in (3, 5)][1:3]
    unknown["category_id"] = 99
    degenerate["bbox"] = [10, 10, 0, 5]
    data["images"][3]["width"] = 0
    _rewrite(json_file, data)
    os.remove(os.path.join(image_root, "000005.png"))
    expected = {image["id"]: 0 for image in data["images"] if image["id"] not in (3, 5)}
    for ann in data["annotations"]:
        if ann["image_id"] in expected and ann not in (unknown, degenerate):
            expected[ann["image_id"]] += 1
    return (unknown, degenerate), expected


def _skip_warnings(caplog):
    return [r.getMessage() for r in caplog.records
            if r.name == "d2ext.data.coco" and "SKIP_INVALID" in r.getMessage()]


def _json_reads(opened):
    """The opened paths of `opened` that are a JSON file: the annotation file, or a copy of it."""
    return [path for path in opened if path.endswith(".json")]


def test_the_json_is_read_once(coco_copy, tmp_path):
    """Checks and detectron2's reader share one parsed copy; a second read of the file would show here."""
    json_file, image_root, _ = coco_copy
    cfg = get_cfg()
    _declare(cfg, "read_once_set", TYPE="coco", JSON_FILE=json_file, IMAGE_ROOT=image_root)
    with opened_files("/") as opened:
        register_declared_datasets(cfg)
        records = DatasetCatalog.get("read_once_set")
    assert _json_reads(opened) == [json_file]
    assert len(records) == 8 and MetadataCatalog.get("read_once_set").thing_classes == list(SHAPES_CLASSES)
    assert records[0]["annotations"][0]["bbox_mode"] == BoxMode.XYWH_ABS  # detectron2's records


def test_skip_invalid_drops_bad_entries_and_lists_them(coco_copy, caplog):
    json_file, image_root, data = coco_copy
    (unknown, degenerate), expected = _corrupt(json_file, image_root, data)
    with open(json_file) as f:
        original = f.read()
    with caplog.at_level(logging.WARNING, logger="d2ext.data.coco"), opened_files("/") as opened:
        records = load_checked_coco_json(json_file, image_root, "skip_direct", skip_invalid=True)
    assert {r["image_id"]: len(r["annotations"]) for r in records} == expected
    assert not any(r["file_name"].endswith(("000003.png", "000005.png")) for r in records)
    assert _json_reads(opened) == [json_file]  # read once: no filtered copy written and read back
    with open(json_file) as f:
        assert f.read() == original  # the file itself is untouched
    [warning] = _skip_warnings(caplog)
    num_with_image = sum(a["image_id"] in (3, 5) for a in data["annotations"])
    assert warning.startswith(f"{json_file}: SKIP_INVALID is on: skipped 2 of 8 images and {num_with_image + 2} of "
                              f"{len(data['annotations'])} annotations ({num_with_image} of them with their image): ")
    assert "image id=3: field 'width' = 0 is not a positive number" in warning
    assert f"image id=5: file '000005.png' does not exist under {image_root}" in warning
    assert f"annotation id={unknown['id']}: field 'category_id' = 99 is not among the ids" in warning
    assert (f"annotation id={degenerate['id']} (image_id={degenerate['image_id']}): field 'bbox' = [10, 10, 0, 5] "
            "is degenerate") in warning
    assert "more" not in warning


def test_without_skip_invalid_the_first_bad_entry_raises(coco_copy):
    json_file, image_root, data = coco_copy
    (unknown, _), _ = _corrupt(json_file, image_root, data)
    with pytest.raises(DatasetError, match=r"instances\.json: image id=3: field 'width' = 0 is not a positive number"):
        load_checked_coco_json(json_file, image_root, "no_skip_direct")
    data["images"][3]["width"] = 128
    _rewrite(json_file, data)
    with pytest.raises(DatasetError, match=rf"instances\.json: annotation id={unknown['id']}: field 'category_id' = 99"):
        load_checked_coco_json(json_file, image_root, "no_skip_direct")


def test_skip_invalid_with_nothing_to_skip_logs_nothing(coco_copy, caplog):
    json_file, image_root, data = coco_copy
    with caplog.at_level(logging.WARNING, logger="d2ext.data.coco"):
        kept, skipped = check_coco_json(json_file, image_root, skip_invalid=True)
    assert (kept, skipped) == (data, [])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_skip_invalid_lists_at_most_20(coco_copy, caplog):
    json_file, image_root, data = coco_copy
    for ann in data["annotations"][:25]:
        ann["category_id"] = 99
    _rewrite(json_file, data)
    with caplog.at_level(logging.WARNING, logger="d2ext.data.coco"):
        kept, skipped = check_coco_json(json_file, image_root, skip_invalid=True)
    assert len(skipped) == 25 and len(kept["annotations"]) == len(data["annotations"]) - 25
    [warning] = _skip_warnings(caplog)
    assert f"skipped 0 of 8 images and 25 of {len(data['annotations'])} annotations" in warning
    assert warning.count("is not among the ids") == 20 and warning.endswith("; and 5 more")


def test_skip_invalid_with_no_usable_image_left(coco_copy):
    json_file, image_root, data = coco_copy
    for image in data["images"]:
        os.remove(os.path.join(image_root, image["file_name"]))
    with pytest.raises(DatasetError, match=r"instances\.json: no usable image remains: all 8 images are invalid.*"
                                           r"image id=0: file '000000\.png' does not exist"):
        check_coco_json(json_file, image_root, skip_invalid=True)


def test_declared_skip_invalid(coco_copy, caplog, tmp_path):
    json_file, image_root, data = coco_copy
    _, expected = _corrupt(json_file, image_root, data)
    cfg = get_cfg()
    cfg.DATASETS.REGISTER["declared_skip_set"] = CfgNode.load_cfg(
        f"{{TYPE: coco, JSON_FILE: '{json_file}', IMAGE_ROOT: '{image_root}', SKIP_INVALID: true}}")
    _declare(cfg, "declared_strict_set", TYPE="coco", JSON_FILE=json_file, IMAGE_ROOT=image_root, SKIP_INVALID=False)
    register_declared_datasets(cfg)
    with caplog.at_level(logging.WARNING, logger="d2ext.data.coco"):
        records = DatasetCatalog.get("declared_skip_set")
    assert {r["image_id"]: len(r["annotations"]) for r in records} == expected
    assert len(_skip_warnings(caplog)) == 1
    with pytest.raises(DatasetError, match=r"instances\.json: image id=3: field 'width' = 0"):
        DatasetCatalog.get("declared_strict_set")
    # The evaluator's ground truth is the kept records, not the unfiltered file.
    assert "json_file" not in MetadataCatalog.get("declared_skip_set").as_dict()
    COCOEvaluator("declared_skip_set", output_dir=str(tmp_path / "eval"))
    with open(tmp_path / "eval" / "declared_skip_set_coco_format.json") as f:
        ground_truth = json.load(f)
    assert len(ground_truth["images"]) == len(expected)
    assert len(ground_truth["annotations"]) == sum(expected.values())


@pytest.mark.parametrize("value", ["yes", 1])
def test_declared_skip_invalid_must_be_a_bool(coco_copy, value):
    json_file, image_root, _ = coco_copy
    cfg = get_cfg()
    _declare(cfg, "odd_skip", TYPE="coco", JSON_FILE=json_file, IMAGE_ROOT=image_root, SKIP_INVALID=value)
    with pytest.raises(DatasetError, match=rf"DATASETS\.REGISTER\.odd_skip\.SKIP_INVALID = {re.escape(repr(value))} "
                                           r"is not a boolean; use true or false"):
        register_declared_datasets(cfg)
