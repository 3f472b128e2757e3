"""The `sem_seg_folder` dataset type (from the folders' listings), its mask checks, and the shapes_sem_seg splits."""
import logging
import os

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import DatasetError, build_mapper
from d2ext.data import register_declared_datasets
from d2ext.data.shapes import SHAPES_CLASSES
from d2ext.semantic_seg.data import distinct_colors, load_sem_seg_folder, register_sem_seg_folder
from d2ext.semantic_seg.data import check_mask_ids, read_mask
from opened_files import opened_files


def _write_image(path, width, height):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(path)


def _write_mask(path, width, height, value=1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.full((height, width), value, np.uint8)).save(path)


@pytest.fixture
def voc(tmp_path):
    """images/{a.jpg, c.png, sub/b.png} with their masks/, a mask without image and a hidden file."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    for name, (width, height) in {"a.jpg": (30, 20), "c.png": (8, 8), "sub/b.png": (16, 12)}.items():
        _write_image(images / name, width, height)
        _write_mask(masks / (os.path.splitext(name)[0] + ".png"), width, height)
    _write_mask(masks / "orphan.png", 4, 4)
    (images / ".DS_Store").write_text("")
    return images, masks


def test_records_of_nested_images_by_file_name(voc, caplog):
    images, masks = voc
    with caplog.at_level(logging.WARNING):
        records = load_sem_seg_folder(str(images), str(masks))
    assert "1 mask(s) have no image" in caplog.text
    assert records == [
        {"file_name": str(images / "a.jpg"), "sem_seg_file_name": str(masks / "a.png"), "image_id": "a"},
        {"file_name": str(images / "c.png"), "sem_seg_file_name": str(masks / "c.png"), "image_id": "c"},
        {"file_name": str(images / "sub" / "b.png"), "sem_seg_file_name": str(masks / "sub" / "b.png"),
         "image_id": "sub/b"},
    ]


def _mapper(is_train):
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "SemanticSegmentationDatasetMapper"
    cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES = 2
    return build_mapper(cfg, is_train)


def test_loading_opens_no_file_and_the_mapper_gives_sizes(voc, tmp_path):
    images, masks = voc
    (images / "c.png").write_bytes(b"not an image")
    (masks / "sub" / "b.png").write_bytes(b"not a mask")
    with opened_files(tmp_path) as opened:
        register_sem_seg_folder("test_sem_seg_folder_unopened", str(images), str(masks), ["bg", "fg"])
        records = DatasetCatalog.get("test_sem_seg_folder_unopened")
    assert opened == [] and len(records) == 3
    for is_train in (True, False):
        mapped = _mapper(is_train)(records[0])
        assert (mapped["height"], mapped["width"]) == (20, 30) and "height" not in records[0]
    with pytest.raises(DatasetError, match=r"images/c\.png: cannot read this image"):
        _mapper(False)(records[1])
    with pytest.raises(DatasetError, match=r"masks/sub/b\.png: cannot read this mask"):
        _mapper(True)(records[2])


def test_image_list_keeps_the_listed_images_only(voc, tmp_path):
    images, masks = voc
    image_list = tmp_path / "train.txt"
    image_list.write_text("sub/b\n\nc\n")
    assert [r["image_id"] for r in load_sem_seg_folder(str(images), str(masks), str(image_list))] == ["c", "sub/b"]
    image_list.write_text("c\nd\n")
    with pytest.raises(DatasetError, match=r"train\.txt: entries \['d'\] have no image in .*images.*remove the entries"):
        load_sem_seg_folder(str(images), str(masks), str(image_list))


def test_image_without_mask_names_the_expected_mask(voc, tmp_path):
    images, masks = voc
    os.remove(masks / "sub" / "b.png")
    with pytest.raises(DatasetError, match=r"images/sub/b\.png: no mask .*masks/sub/b\.png for this image\. "
                                           r"Add the mask, or remove the image\.$"):
        load_sem_seg_folder(str(images), str(masks))
    (tmp_path / "train.txt").write_text("sub/b\n")
    with pytest.raises(DatasetError, match=r"remove the image or its entry 'sub/b' of .*train\.txt"):
        load_sem_seg_folder(str(images), str(masks), str(tmp_path / "train.txt"))


@pytest.mark.parametrize("is_train", [True, False])
def test_mask_of_another_size_names_both_files_and_sizes(voc, is_train):
    images, masks = voc
    _write_mask(masks / "c.png", 8, 9)
    [record] = [r for r in load_sem_seg_folder(str(images), str(masks)) if r["image_id"] == "c"]
    with pytest.raises(DatasetError, match=r"masks/c\.png: the mask is 8x9 \(WxH\) but its image .*images/c\.png is "
                                           r"8x8"):
        _mapper(is_train)(record)


@pytest.mark.parametrize("is_train", [True, False])
def test_colour_mask_is_refused_from_its_header(voc, is_train):
    images, masks = voc
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(masks / "c.png")
    [record] = [r for r in load_sem_seg_folder(str(images), str(masks)) if r["image_id"] == "c"]
    with pytest.raises(DatasetError, match=r"masks/c\.png: a mask of PIL mode 'RGB'.*Convert its colours to class ids"):
        _mapper(is_train)(record)
    with pytest.raises(DatasetError, match=r"mode 'RGB'"):
        read_mask(str(masks / "c.png"))


def test_root_errors(voc, tmp_path):
    images, masks = voc
    with pytest.raises(DatasetError, match=r"nowhere: not a directory\. Check the IMAGE_ROOT path"):
        load_sem_seg_folder(str(tmp_path / "nowhere"), str(masks))
    with pytest.raises(DatasetError, match=r"nowhere: not a directory\. Check the MASK_ROOT path"):
        load_sem_seg_folder(str(images), str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"empty: no images \(.png, .jpg.*in this folder or its sub-folders"):
        load_sem_seg_folder(str(tmp_path / "empty"), str(masks))


def test_read_mask_keeps_palette_indices_and_16_bit_ids(tmp_path):
    palette_mask = Image.fromarray(np.array([[0, 1], [2, 255]], np.uint8), mode="P")
    palette_mask.putpalette([200, 10, 10] * 256)  # every index the same colour
    palette_mask.save(tmp_path / "p.png")
    assert read_mask(str(tmp_path / "p.png")).tolist() == [[0, 1], [2, 255]]
    Image.fromarray(np.array([[0, 300]], np.uint16)).save(tmp_path / "i16.png")
    assert read_mask(str(tmp_path / "i16.png")).tolist() == [[0, 300]]
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"broken\.png: cannot read this mask"):
        read_mask(str(tmp_path / "broken.png"))


def test_check_mask_ids_names_the_bad_ids():
    check_mask_ids(np.array([[0, 2, 255]]), 3, 255, "ok.png")
    with pytest.raises(DatasetError, match=r"m\.png: mask ids \[3, 7, 8, 9, 10, \.\.\.\] are neither class ids 0\.\.2 "
                                           r"\(3 classes\) nor the ignore label 255\. Fix the mask.*NUM_CLASSES.*"
                                           r"IGNORE_LABEL"):
        check_mask_ids(np.array([[0, 3, 7, 8, 9, 10, 11, 255]]), 3, 255, "m.png")
    with pytest.raises(DatasetError, match=r"mask ids \[-1\]"):
        check_mask_ids(np.array([[-1, 0]]), 3, 255, "m.png")


def test_register_sem_seg_folder_metadata(voc):
    images, masks = voc
    register_sem_seg_folder("test_sem_seg_folder_api", str(images), str(masks), ["bg", "cat", "dog"],
                            metadata={"ignore_label": 0})
    metadata = MetadataCatalog.get("test_sem_seg_folder_api")
    assert metadata.stuff_classes == ["bg", "cat", "dog"] and metadata.ignore_label == 0
    assert metadata.stuff_colors == distinct_colors(3) and len({tuple(c) for c in distinct_colors(50)}) == 50
    assert (metadata.evaluator_type, metadata.image_root, metadata.sem_seg_root) == ("sem_seg", str(images), str(masks))
    assert len(DatasetCatalog.get("test_sem_seg_folder_api")) == 3


def _declare(tmp_path, name, entry):
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"DATASETS:\n  REGISTER:\n    {name}: {entry}\n")
    cfg = get_cfg()
    cfg.merge_from_file(str(config))
    register_declared_datasets(cfg)


def test_declared_in_config_with_relative_paths(voc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "val.txt").write_text("a\n")
    _declare(tmp_path, "test_sem_seg_folder_declared",
             "{TYPE: sem_seg_folder, IMAGE_ROOT: images, MASK_ROOT: masks, CLASSES: [bg, '1'], "
             "COLORS: [[0, 0, 0], [255, 0, 0]], IGNORE_LABEL: 254, IMAGE_LIST_FILE: val.txt}")
    monkeypatch.chdir(voc[0])  # the paths were resolved at registration
    assert DatasetCatalog.get("test_sem_seg_folder_declared")[0]["file_name"] == str(tmp_path / "images" / "a.jpg")
    metadata = MetadataCatalog.get("test_sem_seg_folder_declared")
    assert (metadata.stuff_classes, metadata.stuff_colors) == (["bg", "1"], [[0, 0, 0], [255, 0, 0]])
    assert (metadata.ignore_label, metadata.evaluator_type) == (254, "sem_seg")


@pytest.mark.parametrize("fields, error", [
    ("CLASSES: road", r"\.CLASSES = 'road' is not a list of class names"),
    ("CLASSES: [road, 1]", r"\.CLASSES = \['road', 1\] is not a list of class names.*quote names"),
    ("CLASSES: [road, car], COLORS: [[0, 0, 0]]", r"\.COLORS = \[\[0, 0, 0\]\]: give one \[R, G, B\] colour .* 2 in all"),
    ("CLASSES: [road, car], COLORS: [[0, 0, 0], [0, 0, 300]]", r"\.COLORS = .*give one \[R, G, B\] colour \(0\.\.255\)"),
    ("CLASSES: [road], IGNORE_LABEL: none", r"\.IGNORE_LABEL = 'none' is not an integer"),
    ("CLASSES: [road], LABELS: x", r" \(TYPE sem_seg_folder\): unknown key\(s\) \['LABELS'\]"),
])
def test_declared_entry_errors_name_the_key(voc, tmp_path, fields, error):
    with pytest.raises(DatasetError, match=r"DATASETS\.REGISTER\.test_sem_seg_folder_bad" + error):
        _declare(tmp_path, "test_sem_seg_folder_bad",
                 f"{{TYPE: sem_seg_folder, IMAGE_ROOT: {voc[0]}, MASK_ROOT: {voc[1]}, {fields}}}")
    assert "test_sem_seg_folder_bad" not in DatasetCatalog.list()


def test_shapes_sem_seg_val_reads_the_shapes_val_split():
    records = DatasetCatalog.get("shapes_sem_seg_val")
    assert len(records) == 200
    assert [r["file_name"] for r in records] == sorted(r["file_name"] for r in DatasetCatalog.get("shapes_val"))
    ids = set()
    for record in records:
        mask = read_mask(record["sem_seg_file_name"])
        with Image.open(record["file_name"]) as image:
            assert mask.shape == image.size[::-1] == (128, 128)
        ids.update(np.unique(mask).tolist())
    assert ids == {0, 1, 2, 3}
    metadata = MetadataCatalog.get("shapes_sem_seg_val")
    assert metadata.stuff_classes == ["background", *SHAPES_CLASSES]
    assert metadata.stuff_colors == MetadataCatalog.get("shapes_train").stuff_colors
    assert (metadata.ignore_label, metadata.evaluator_type) == (255, "sem_seg")
