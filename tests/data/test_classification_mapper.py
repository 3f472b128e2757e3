"""ClassificationDatasetMapper and its augmentations: fixed-size crops, labels kept, clear errors."""
import numpy as np
import pytest
import torch
import torchvision
from detectron2.data import transforms as T
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import DatasetError, build_mapper
from d2ext.classification.data import RandomResizedCrop
from d2ext.data.transforms import CenterCrop


def classification_cfg(**overrides):
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "ClassificationDatasetMapper"
    cfg.INPUT.FORMAT = "RGB"
    cfg.merge_from_list([item for kv in overrides.items() for item in kv])
    return cfg


@pytest.fixture
def image_file(tmp_path):
    """A 60 x 90 (H x W) RGB PNG whose pixel (y, x) is (y, x, 7)."""
    yy, xx = np.mgrid[0:60, 0:90]
    rgb = np.stack([yy, xx, np.full_like(yy, 7)], axis=-1).astype(np.uint8)
    path = tmp_path / "image.png"
    Image.fromarray(rgb).save(path)
    return str(path)


@pytest.mark.parametrize("train_crop", ["RandomResizedCrop", "RandomCrop", "CenterCrop"])
def test_every_training_crop_gives_the_crop_size_and_keeps_the_label(image_file, train_crop):
    cfg = classification_cfg(**{"INPUT.CLS.RESIZE": 40, "INPUT.CLS.CROP_SIZE": 32, "INPUT.CLS.TRAIN_CROP": train_crop})
    mapped = build_mapper(cfg, is_train=True)({"file_name": image_file, "label": 2, "height": 60, "width": 90})
    assert mapped["image"].shape == (3, 32, 32) and mapped["image"].dtype == torch.uint8
    assert mapped["label"] == 2


def test_test_mapper_resizes_the_short_side_and_crops_the_centre(image_file):
    cfg = classification_cfg(**{"INPUT.CLS.RESIZE": 30, "INPUT.CLS.CROP_SIZE": 30})
    image = build_mapper(cfg, is_train=False)({"file_name": image_file, "label": 0})["image"]
    # 60 x 90 -> 30 x 45, centre 30 x 30 keeps columns 7.5..37.5 of 45, i.e. x = 15..75 of the original
    assert image.shape == (3, 30, 30)
    assert abs(int(image[1, 0, 0]) - 16) <= 2 and abs(int(image[1, 0, -1]) - 74) <= 2
    assert (image[2] == 7).all()


def test_test_mapper_gives_torchvisions_resize_and_centre_crop_at_any_size(tmp_path):
    rng = np.random.default_rng(0)
    cfg = classification_cfg(**{"INPUT.CLS.RESIZE": 73, "INPUT.CLS.CROP_SIZE": 64})
    mapper = build_mapper(cfg, is_train=False)
    reference = torchvision.transforms.Compose([torchvision.transforms.Resize(73), torchvision.transforms.CenterCrop(64),
                                                torchvision.transforms.PILToTensor()])
    for height, width in [(75, 101), (97, 131), (100, 133), (131, 97), (200, 77), (74, 75)]:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        path = str(tmp_path / f"{height}x{width}.png")
        image.save(path)
        assert torch.equal(mapper({"file_name": path, "label": 0})["image"], reference(image)), (height, width)


def test_random_resized_crop_stays_inside_the_image_with_the_requested_area():
    image = np.zeros((60, 90, 3), np.uint8)
    augmentation = RandomResizedCrop(16, scale=(0.25, 0.5), ratio=(0.5, 2.0))
    for seed in range(50):
        np.random.seed(seed)
        crop, resize = augmentation.get_transform(image).transforms
        assert 0 <= crop.x0 and crop.x0 + crop.w <= 90 and 0 <= crop.y0 and crop.y0 + crop.h <= 60
        assert 0.2 <= crop.w * crop.h / (60 * 90) <= 0.55  # rounding of w and h
        assert (resize.new_h, resize.new_w) == (16, 16)


def test_unreadable_image_names_the_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match=f"{broken}: cannot read this image"):
        build_mapper(classification_cfg(), is_train=True)({"file_name": str(broken), "label": 0})


@pytest.mark.parametrize("key, value, message", [
    ("INPUT.CLS.RESIZE", 100, "INPUT.CLS.RESIZE = 100 is smaller than INPUT.CLS.CROP_SIZE = 224"),
    ("INPUT.CLS.TRAIN_CROP", "Zoom", "INPUT.CLS.TRAIN_CROP = 'Zoom'"),
])
def test_bad_input_config_names_the_key(key, value, message):
    with pytest.raises(ValueError, match=message):
        build_mapper(classification_cfg(**{key: value}), is_train=True)


def test_centre_crop_of_a_small_image_says_to_resize_first():
    with pytest.raises(ValueError, match=r"CenterCrop\(64\) of a 32x32 image: resize it to at least 64 px first"):
        T.AugmentationList([CenterCrop(64)])(T.AugInput(np.zeros((32, 32, 3), np.uint8)))
