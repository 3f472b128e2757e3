"""The bundled `shapes` generator: deterministic, consistent annotations, safe concurrent generation."""
import filecmp
import json
import multiprocessing
import os

import cv2
import numpy as np
import pycocotools.mask as mask_util
from detectron2.data import DatasetCatalog, MetadataCatalog

from d2ext.data.shapes import SHAPES_CLASSES, ShapesSplitSpec, ensure_split, generate_split
from d2ext.data.shapes import is_split_complete, render_scene

SPEC = ShapesSplitSpec(num_images=12, seed=3)


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    generate_split(tmp_path / "a", SPEC, progress=False)
    generate_split(tmp_path / "b", SPEC, progress=False)
    generate_split(tmp_path / "c", ShapesSplitSpec(num_images=12, seed=4), progress=False)
    names = _files(tmp_path / "a")
    assert names == _files(tmp_path / "b") and len(names) == 2 * 12 + 2
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == [] and errors == []
    assert not filecmp.cmp(tmp_path / "a" / "images/000000.png", tmp_path / "c" / "images/000000.png", shallow=False)


def test_annotations_are_the_visible_pixels(tmp_path):
    """bbox, area, RLE and the semantic mask all describe each shape's visible (unoccluded) pixels."""
    generate_split(tmp_path, SPEC, progress=False)
    with open(tmp_path / "instances.json") as f:
        coco = json.load(f)
    assert [c["name"] for c in coco["categories"]] == list(SHAPES_CLASSES)
    assert len(coco["images"]) == 12 and len(coco["annotations"]) >= 12
    covered = {}
    for ann in coco["annotations"]:
        mask = mask_util.decode(ann["segmentation"]).astype(bool)
        ys, xs = np.nonzero(mask)
        assert ann["area"] == mask.sum() > 0
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
        sem_seg = cv2.imread(str(tmp_path / "sem_seg" / f"{ann['image_id']:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert (sem_seg[mask] == ann["category_id"]).all()
        previous = covered.setdefault(ann["image_id"], np.zeros_like(mask))
        assert not (previous & mask).any(), "visible masks of one image must not overlap"
        previous |= mask
    for image_id, union in covered.items():
        sem_seg = cv2.imread(str(tmp_path / "sem_seg" / f"{image_id:06d}.png"), cv2.IMREAD_UNCHANGED)
        assert ((sem_seg > 0) == union).all()


def test_outlined_style_draws_the_same_layout():
    filled, filled_instances = render_scene(np.random.default_rng(7), SPEC)
    outlined, outlined_instances = render_scene(np.random.default_rng(7), ShapesSplitSpec(12, 3, style="outlined"))
    assert [c for c, _ in filled_instances] == [c for c, _ in outlined_instances]
    for (_, filled_mask), (_, outline_mask) in zip(filled_instances, outlined_instances):
        assert outline_mask.sum() < filled_mask.sum()
    assert not np.array_equal(filled, outlined)


def test_missing_or_truncated_files_are_regenerated(tmp_path):
    assert ensure_split(tmp_path / "s", SPEC) is True
    assert ensure_split(tmp_path / "s", SPEC) is False
    os.remove(tmp_path / "s" / "images" / "000003.png")
    assert not is_split_complete(tmp_path / "s", SPEC)
    assert ensure_split(tmp_path / "s", SPEC) is True
    with open(tmp_path / "s" / "sem_seg" / "000001.png", "r+b") as f:
        f.truncate(10)
    assert ensure_split(tmp_path / "s", SPEC) is True and is_split_complete(tmp_path / "s", SPEC)


def _ensure_in_child(args):
    split_dir, spec = args
    return ensure_split(split_dir, spec)


def test_concurrent_processes_generate_once(tmp_path):
    spec = ShapesSplitSpec(num_images=60, seed=5)
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        generated = pool.map(_ensure_in_child, [(str(tmp_path / "s"), spec)] * 3)
    assert sorted(generated) == [False, False, True]
    assert is_split_complete(tmp_path / "s", spec)
    assert [p for p in os.listdir(tmp_path) if ".tmp-" in p] == []


def test_builtin_splits_are_registered_with_metadata():
    for name in ("shapes_train", "shapes_val"):
        assert name in DatasetCatalog.list()
        metadata = MetadataCatalog.get(name)
        assert metadata.thing_classes == list(SHAPES_CLASSES)
        assert len(metadata.thing_colors) == len(SHAPES_CLASSES)
        assert metadata.evaluator_type == "coco"
        assert metadata.json_file.startswith(os.environ["D2EXT_DATASETS"])


def test_builtin_val_split_generates_on_first_use():
    dicts = DatasetCatalog.get("shapes_val")
    assert len(dicts) == 200
    record = dicts[0]
    assert os.path.isfile(record["file_name"]) and os.path.isfile(record["sem_seg_file_name"])
    assert all(0 <= ann["category_id"] < len(SHAPES_CLASSES) for ann in record["annotations"])
