"""The `image_folder` dataset type: records from an ImageFolder tree's listing, and DatasetError on bad trees."""
import logging
import os

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from d2ext.data import DatasetError, build_mapper
from d2ext.classification.data import register_image_folder
from d2ext.data.image_folder import load_image_folder
from d2ext.config import get_cfg, load_config
from opened_files import opened_files


def _write_image(path, width, height):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(path)


@pytest.fixture
def flowers(tmp_path):
    """root/{tulip,daisy}/ with images of known sizes, an upper-case extension, a non-image and hidden files."""
    root = tmp_path / "flowers"
    _write_image(root / "tulip" / "b.png", 30, 20)
    _write_image(root / "tulip" / "a.JPG", 10, 40)
    _write_image(root / "daisy" / "x.webp", 16, 12)
    _write_image(root / "daisy" / "._x.webp", 16, 12)  # as macOS leaves beside copied files
    _write_image(root / ".thumbnails" / "t.png", 4, 4)
    (root / "daisy" / "notes.txt").write_text("not an image")
    (root / "README").write_text("not a class")
    return root


def test_records_labels_and_order(flowers):
    records = load_image_folder(str(flowers))
    assert [(r["image_id"], r["label"]) for r in records] == [("daisy/x.webp", 0), ("tulip/a.JPG", 1), ("tulip/b.png", 1)]
    assert records[1] == {"file_name": str(flowers / "tulip" / "a.JPG"), "image_id": "tulip/a.JPG", "label": 1}
    assert [r["label"] for r in load_image_folder(str(flowers), classes=["tulip", "daisy"])] == [0, 0, 1]


def test_registration_opens_no_image_and_the_mapper_gives_sizes(flowers, tmp_path):
    """The records come from the listing: unreadable images load, and fail, naming the file, only when mapped."""
    for image in (flowers / "tulip" / "b.png", flowers / "daisy" / "x.webp"):
        image.write_bytes(b"not an image")
    with opened_files(flowers) as opened:
        register_image_folder("flowers_unopened", str(flowers))
        records = DatasetCatalog.get("flowers_unopened")
    assert opened == [] and len(records) == 3
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "ClassificationDatasetMapper"
    mapper = build_mapper(cfg, is_train=False)
    mapped = mapper(records[1])
    assert (mapped["height"], mapped["width"]) == (40, 10) and "height" not in records[1]
    with pytest.raises(DatasetError, match=r"tulip/b\.png: cannot read this image"):
        mapper(records[2])


def test_root_and_class_folder_errors(flowers, tmp_path):
    with pytest.raises(DatasetError, match=r"missing: image folder root is not a directory.*ROOT"):
        load_image_folder(str(tmp_path / "missing"))
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetError, match=r"bare: no class folders"):
        load_image_folder(str(tmp_path / "bare"))
    (flowers / "rose").mkdir()
    (flowers / "rose" / "rose.txt").write_text("")
    with pytest.raises(DatasetError, match=r"flowers/rose: the folder of class 'rose' holds no image"):
        load_image_folder(str(flowers))


def test_a_declared_class_without_folder_keeps_the_labels_of_the_list(flowers, caplog):
    """A split may lack a class (a small validation set): it warns, and the other labels still follow CLASSES."""
    with caplog.at_level(logging.WARNING):
        records = load_image_folder(str(flowers), classes=["rose", "daisy", "tulip"])
    assert "classes ['rose'] of the class list have no folder" in caplog.text
    assert {r["label"] for r in records if "/daisy/" in r["file_name"]} == {1}
    assert {r["label"] for r in records if "/tulip/" in r["file_name"]} == {2}


def test_class_list_errors(flowers):
    with pytest.raises(DatasetError, match=r"flowers/tulip: folder 'tulip' is not a class of the class list "
                                           r"\['daisy', 'rose'\].*CLASSES"):
        load_image_folder(str(flowers), classes=["daisy", "rose"])
    with pytest.raises(DatasetError, match=r"flowers: the class list \['daisy', 'tulip', 'daisy'\] names a class "
                                           r"twice"):
        load_image_folder(str(flowers), classes=["daisy", "tulip", "daisy"])


def test_declared_in_config(flowers, tmp_path, monkeypatch):
    """Relative roots are resolved against the working directory; a missing root fails only when loaded."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "flowers.yaml"
    config.write_text(f"""DATASETS:
  REGISTER:
    flowers_cfg_train: {{TYPE: image_folder, ROOT: flowers}}
    flowers_cfg_val: {{TYPE: image_folder, ROOT: "{flowers}", CLASSES: [tulip, daisy]}}
    flowers_cfg_absent: {{TYPE: image_folder, ROOT: "{tmp_path / 'absent'}"}}
""")
    load_config(str(config))
    assert DatasetCatalog.get("flowers_cfg_train")[0]["file_name"] == str(flowers / "daisy" / "x.webp")
    assert MetadataCatalog.get("flowers_cfg_train").thing_classes == ["daisy", "tulip"]
    assert [r["label"] for r in DatasetCatalog.get("flowers_cfg_val")] == [0, 0, 1]
    assert MetadataCatalog.get("flowers_cfg_val").thing_classes == ["tulip", "daisy"]
    assert MetadataCatalog.get("flowers_cfg_val").evaluator_type == "classification"
    with pytest.raises(DatasetError, match=r"absent: image folder root is not a directory"):
        DatasetCatalog.get("flowers_cfg_absent")


def test_classes_of_a_root_created_after_registration(flowers, tmp_path):
    register_image_folder("late_flowers", str(tmp_path / "late"))
    assert "thing_classes" not in MetadataCatalog.get("late_flowers").as_dict()
    flowers.rename(tmp_path / "late")
    assert len(DatasetCatalog.get("late_flowers")) == 3
    assert MetadataCatalog.get("late_flowers").thing_classes == ["daisy", "tulip"]
