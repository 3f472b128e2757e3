"""The bundled GAN datasets: shapes_filled2outlined_* (unpaired filled/outlined scenes) and digits_gan_*."""
import filecmp
import json
import os

import numpy as np
import pycocotools.mask as mask_util
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image
from scipy.ndimage import binary_fill_holes

from d2ext.data.digits import DIGITS_CLASSES

from d2ext.gan.data.builtin import SHAPES_GAN_SPLITS


def _enclosed_pixels_of_top_shapes(split_dir):
    """Per image, the pixels that its topmost (last drawn, fully visible) shape encloses but does not cover."""
    with open(os.path.join(split_dir, "instances.json")) as f:
        top = {ann["image_id"]: ann for ann in json.load(f)["annotations"]}
    masks = [mask_util.decode(ann["segmentation"]).astype(bool) for ann in top.values()]
    return [int((binary_fill_holes(mask) & ~mask).sum()) for mask in masks]


def test_filled_to_outlined_test_split():
    """The real test split (100 + 100 images of 64 px): A filled, B outlined, other layouts."""
    records = DatasetCatalog.get("shapes_filled2outlined_test")
    assert [r["domain"] for r in records] == ["A"] * 100 + ["B"] * 100
    assert records[0]["image_id"] == "A/000000.png" and records[100]["image_id"] == "B/000000.png"
    for record in records[::50]:
        with Image.open(record["file_name"]) as image:
            assert image.size == (64, 64)
    split_dirs = [os.path.dirname(os.path.dirname(records[i]["file_name"])) for i in (0, 100)]
    assert [os.path.basename(d) for d in split_dirs] == ["gan_filled_test", "gan_outlined_test"]
    filled, outlined = (_enclosed_pixels_of_top_shapes(d) for d in split_dirs)
    assert max(filled) == 0 and min(outlined) > 0
    assert not filecmp.cmp(records[0]["file_name"], records[100]["file_name"], shallow=False)
    specs = SHAPES_GAN_SPLITS["test"]
    assert (specs["A"].style, specs["B"].style) == ("filled", "outlined") and specs["A"].seed != specs["B"].seed

    metadata = MetadataCatalog.get("shapes_filled2outlined_test")
    assert (metadata.evaluator_type, metadata.domains) == ("gan", ["A", "B"])
    assert metadata.domain_names == {"A": "filled", "B": "outlined"}
    assert [metadata.image_root_a, metadata.image_root_b] == [os.path.join(d, "images") for d in split_dirs]


def test_filled_to_outlined_train_split_is_registered():
    metadata = MetadataCatalog.get("shapes_filled2outlined_train")
    assert metadata.image_root_a.endswith(os.path.join("shapes", "gan_filled_train", "images"))
    assert metadata.image_root_b.endswith(os.path.join("shapes", "gan_outlined_train", "images"))
    assert [spec.num_images for spec in SHAPES_GAN_SPLITS["train"].values()] == [1000, 1000]


def test_digits_gan_are_the_digits_records_with_evaluator_gan():
    for split in ("train", "test"):
        metadata = MetadataCatalog.get(f"digits_gan_{split}")
        assert (metadata.evaluator_type, metadata.thing_classes) == ("gan", list(DIGITS_CLASSES))
        assert metadata.image_root == MetadataCatalog.get(f"digits_{split}").image_root
    assert DatasetCatalog.get("digits_gan_test") == DatasetCatalog.get("digits_test")
    assert np.bincount([r["label"] for r in DatasetCatalog.get("digits_gan_test")]).min() > 0
