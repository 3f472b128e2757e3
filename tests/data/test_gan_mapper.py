"""GANDatasetMapper: IMAGE_SIZE x IMAGE_SIZE images in INPUT.FORMAT's channels, random crop only in training."""
import numpy as np
import pytest
import torch
from PIL import Image

from d2ext.config import get_cfg
from d2ext.data import build_mapper
from d2ext.gan.data import build_gan_augmentations


def gan_cfg(image_format="RGB", resize=40, image_size=32, flip="none"):
    cfg = get_cfg()
    cfg.INPUT.DATASET_MAPPER = "GANDatasetMapper"
    cfg.INPUT.FORMAT = image_format
    cfg.INPUT.GAN.RESIZE, cfg.INPUT.GAN.IMAGE_SIZE = resize, image_size
    cfg.INPUT.RANDOM_FLIP = flip
    return cfg


@pytest.fixture
def rgb_file(tmp_path):
    """A 40 x 60 (H x W) RGB PNG whose pixel (y, x) is (y, x, 7)."""
    yy, xx = np.mgrid[0:40, 0:60]
    path = tmp_path / "rgb.png"
    Image.fromarray(np.stack([yy, xx, np.full_like(yy, 7)], axis=-1).astype(np.uint8)).save(path)
    return str(path)


def _map(cfg, file_name, is_train, **record):
    return build_mapper(cfg, is_train)({"file_name": file_name, **record})


@pytest.mark.parametrize("image_format, channels", [("RGB", 3), ("BGR", 3), ("L", 1)])
@pytest.mark.parametrize("is_train", [True, False])
def test_output_is_uint8_of_the_format_channels_and_image_size(rgb_file, image_format, channels, is_train):
    image = _map(gan_cfg(image_format, flip="horizontal"), rgb_file, is_train)["image"]
    assert image.shape == (channels, 32, 32) and image.dtype == torch.uint8


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grayscale_and_rgba_files_are_read_as_rgb(tmp_path, mode):
    path = str(tmp_path / f"{mode}.png")
    pixels = np.random.default_rng(0).integers(0, 256, size=(32, 32, 4), dtype=np.uint8)
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(path)
    image = _map(gan_cfg(resize=32), path, is_train=False)["image"]
    assert image.shape == (3, 32, 32)
    expected = np.repeat(pixels[..., :1], 3, axis=-1) if mode == "L" else pixels[..., :3]
    assert (image.permute(1, 2, 0).numpy() == expected).all()


def test_training_crops_at_random_and_test_crops_the_centre(rgb_file):
    """40 x 60 resized to 40 (no change): crops of 32 x 32 start at y in 0..8, x in 0..28."""
    cfg = gan_cfg()
    corners = set()
    for seed in range(20):
        np.random.seed(seed)
        image = _map(cfg, rgb_file, is_train=True)["image"]
        corners.add((int(image[0, 0, 0]), int(image[1, 0, 0])))
        assert (image[2] == 7).all()
    assert len(corners) > 5 and all(0 <= y <= 8 and 0 <= x <= 28 for y, x in corners)
    for _ in range(3):
        image = _map(cfg, rgb_file, is_train=False)["image"]
        assert (int(image[0, 0, 0]), int(image[1, 0, 0])) == (4, 14)


def test_resize_equal_to_image_size_crops_the_centre_in_training():
    augmentations = build_gan_augmentations(gan_cfg(resize=32, image_size=32, flip="horizontal"), is_train=True)
    assert [type(a).__name__ for a in augmentations] == ["ResizeShortEdgeAsTorchvision", "CenterCrop", "RandomFlip"]


def test_other_keys_pass_through(rgb_file):
    mapped = _map(gan_cfg(), rgb_file, is_train=True, domain="B", label=3, image_id="B/x.png")
    assert (mapped["domain"], mapped["label"], mapped["image_id"]) == ("B", 3, "B/x.png")


def test_resize_smaller_than_image_size_names_both_keys():
    with pytest.raises(ValueError, match=r"INPUT.GAN.RESIZE = 16 is smaller than INPUT.GAN.IMAGE_SIZE = 32"):
        build_mapper(gan_cfg(resize=16), is_train=False)
