"""SemanticSegmentationDatasetMapper: image and mask transformed together, raw ids kept, mask errors named."""
import numpy as np
import pytest
import torch
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import DatasetError, build_mapper

HEIGHT, WIDTH = 48, 64


def sem_seg_cfg(**overrides):
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "SemanticSegmentationDatasetMapper"
    cfg.INPUT.FORMAT = "RGB"
    cfg.INPUT.MIN_SIZE_TRAIN = (HEIGHT,)  # no resize unless a test asks for one
    cfg.INPUT.RANDOM_FLIP = "none"
    cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES = 4
    cfg.merge_from_list([item for kv in overrides.items() for item in kv])
    return cfg


def _write_mask(path, ids, mode=None):
    Image.fromarray(ids, mode=mode).save(path)
    return str(path)


@pytest.fixture
def scene(tmp_path):
    """
    A HEIGHT x WIDTH record whose mask holds random ids 0..3 per pixel and whose image pixel (y, x)
    is (60 * id, 3 * x, 4 * y): the image tells its own mask, column and row.
    """
    ids = np.random.default_rng(0).integers(0, 4, size=(HEIGHT, WIDTH)).astype(np.uint8)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    Image.fromarray(np.stack([60 * ids, 3 * xx, 4 * yy], axis=-1).astype(np.uint8)).save(tmp_path / "image.png")
    return {"file_name": str(tmp_path / "image.png"), "sem_seg_file_name": _write_mask(tmp_path / "mask.png", ids),
            "height": HEIGHT, "width": WIDTH}


def test_training_output_is_resized_uint8_image_and_int64_mask(scene):
    mapped = build_mapper(sem_seg_cfg(**{"INPUT.MIN_SIZE_TRAIN": (24,)}), is_train=True)(scene)
    assert mapped["image"].shape == (3, 24, 32) and mapped["image"].dtype == torch.uint8
    assert mapped["sem_seg"].shape == (24, 32) and mapped["sem_seg"].dtype == torch.int64
    assert set(mapped["sem_seg"].unique().tolist()) <= {0, 1, 2, 3}
    assert mapped["sem_seg_file_name"] == scene["sem_seg_file_name"] and "sem_seg" not in scene


@pytest.mark.parametrize("single_category_max_area", [1.0, 0.6])
def test_crop_and_flip_keep_image_and_mask_aligned(scene, single_category_max_area):
    cfg = sem_seg_cfg(**{"INPUT.CROP.ENABLED": True, "INPUT.CROP.TYPE": "absolute", "INPUT.CROP.SIZE": (32, 40),
                         "INPUT.CROP.SINGLE_CATEGORY_MAX_AREA": single_category_max_area,
                         "INPUT.RANDOM_FLIP": "horizontal"})
    mapper = build_mapper(cfg, is_train=True)
    np.random.seed(0)
    directions, corners = set(), set()
    for _ in range(12):
        mapped = mapper(scene)
        image, sem_seg = mapped["image"].long(), mapped["sem_seg"]
        assert image.shape == (3, 32, 40) and sem_seg.shape == (32, 40)
        assert torch.equal(image[0], 60 * sem_seg), "the mask moved differently from the image"
        directions.add(int(image[1, 0, 1] - image[1, 0, 0]))  # +3: not flipped, -3: flipped
        corners.add((int(image[2, 0, 0]), int(image[1, 0, 0])))
    assert directions == {3, -3} and len(corners) > 1


def test_ids_beyond_the_classes_name_the_mask(scene, tmp_path):
    ids = np.zeros((HEIGHT, WIDTH), np.uint8)
    ids[0, :3] = [4, 9, 255]
    scene["sem_seg_file_name"] = _write_mask(tmp_path / "bad.png", ids)
    with pytest.raises(DatasetError, match=r"bad\.png: mask ids \[4, 9\] are neither class ids 0\.\.3 \(4 classes\) "
                                           r"nor the ignore label 255.*MODEL\.SEM_SEG_HEAD\.NUM_CLASSES"):
        build_mapper(sem_seg_cfg(), is_train=True)(scene)


def test_ignore_label_passes_through(scene, tmp_path):
    ids = np.full((HEIGHT, WIDTH), 255, np.uint8)
    ids[:, :10] = 3
    scene["sem_seg_file_name"] = _write_mask(tmp_path / "ignored.png", ids)
    assert torch.equal(build_mapper(sem_seg_cfg(), is_train=True)(scene)["sem_seg"], torch.as_tensor(ids).long())
    scene["sem_seg_file_name"] = _write_mask(tmp_path / "ignored.png", np.where(ids == 255, 250, ids).astype(np.uint8))
    with pytest.raises(DatasetError, match=r"ignored\.png: mask ids \[250\] .*nor the ignore label 254"):
        build_mapper(sem_seg_cfg(**{"MODEL.SEM_SEG_HEAD.IGNORE_VALUE": 254}), is_train=True)(scene)


def test_palette_mask_keeps_its_indices(scene, tmp_path):
    ids = np.tile(np.arange(4, dtype=np.uint8), (HEIGHT, WIDTH // 4))
    mask = Image.fromarray(ids, mode="P")
    mask.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0])  # VOC's colours: grey levels 0, 38, 75, 113
    mask.save(tmp_path / "voc.png")
    scene["sem_seg_file_name"] = str(tmp_path / "voc.png")
    assert torch.equal(build_mapper(sem_seg_cfg(), is_train=True)(scene)["sem_seg"], torch.as_tensor(ids).long())


def test_16_bit_ids_survive_the_resize(scene, tmp_path):
    ids = np.zeros((HEIGHT, WIDTH), np.uint16)
    ids[:, WIDTH // 2:] = 300
    scene["sem_seg_file_name"] = _write_mask(tmp_path / "many.png", ids)
    cfg = sem_seg_cfg(**{"INPUT.MIN_SIZE_TRAIN": (24,), "MODEL.SEM_SEG_HEAD.NUM_CLASSES": 301})
    sem_seg = build_mapper(cfg, is_train=True)(scene)["sem_seg"]
    assert sem_seg.shape == (24, 32) and (sem_seg[:, :15] == 0).all() and (sem_seg[:, 17:] == 300).all()


def test_mask_errors_name_the_files(scene, tmp_path):
    mapper = build_mapper(sem_seg_cfg(), is_train=True)
    scene["sem_seg_file_name"] = _write_mask(tmp_path / "small.png", np.zeros((HEIGHT, WIDTH - 1), np.uint8))
    with pytest.raises(DatasetError, match=r"small\.png: the mask is 63x48 \(WxH\) but its image .*image\.png is 64x48"):
        mapper(scene)
    scene["sem_seg_file_name"] = _write_mask(tmp_path / "colour.png", np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"colour\.png: a mask of PIL mode 'RGB'"):
        mapper(scene)


def test_test_mode_resizes_the_image_and_reads_only_the_mask_header(scene, tmp_path):
    """The evaluator reads the mask; the mapper checks its size from the header (its pixels here are cut off)."""
    with open(scene["sem_seg_file_name"], "rb") as f:
        header_only = f.read(60)
    (tmp_path / "header_only.png").write_bytes(header_only)
    scene["sem_seg_file_name"] = str(tmp_path / "header_only.png")
    del scene["height"], scene["width"]
    mapped = build_mapper(sem_seg_cfg(**{"INPUT.MIN_SIZE_TEST": 24}), is_train=False)(scene)
    assert mapped["image"].shape == (3, 24, 32) and "sem_seg" not in mapped
    assert (mapped["height"], mapped["width"]) == (HEIGHT, WIDTH)  # the image's: predictions are resized back to it
    assert mapped["sem_seg_file_name"] == scene["sem_seg_file_name"]
    with pytest.raises(DatasetError, match=r"header_only\.png: cannot read this mask"):
        build_mapper(sem_seg_cfg(), is_train=True)(scene)
