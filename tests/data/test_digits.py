"""The bundled `digits` dataset: scikit-learn's digits written as a fixed, reproducible image folder."""
import filecmp
import os

import cv2
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from sklearn.datasets import load_digits

from d2ext.data.digits import DIGITS_CLASSES, ensure_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_registered_splits(digits):
    sizes = {}
    for split in ("train", "test"):
        name = f"digits_{split}"
        assert MetadataCatalog.get(name).thing_classes == list(DIGITS_CLASSES)
        assert MetadataCatalog.get(name).evaluator_type == "classification"
        records = DatasetCatalog.get(name)
        sizes[split] = len(records)
        for record in records:
            index = int(os.path.splitext(os.path.basename(record["file_name"]))[0])
            assert (index % 5 == 4) == (split == "test")
            assert DIGITS_CLASSES[record["label"]] == str(digits.target[index])
            assert os.path.basename(os.path.dirname(record["file_name"])) == str(digits.target[index])
    assert sizes == {"train": 1438, "test": 359}


def test_pixels_are_the_scaled_digits(digits):
    by_index = {os.path.basename(r["file_name"]): r for r in DatasetCatalog.get("digits_test")}
    for index in (4, 1794):
        image = cv2.imread(by_index[f"{index:04d}.png"]["file_name"], cv2.IMREAD_UNCHANGED)
        assert image.dtype == "uint8" and image.shape == (8, 8)
        assert (image == digits.images[index].astype(int) * 255 // 16).all()


def test_generation_is_reproducible(tmp_path):
    assert ensure_digits(tmp_path / "a") is True
    assert ensure_digits(tmp_path / "a") is False
    ensure_digits(tmp_path / "b")
    names = _files(tmp_path / "a")
    assert names == _files(tmp_path / "b") and len(names) == 1797 + 1
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == [] and errors == []
