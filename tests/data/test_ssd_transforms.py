"""SSD's augmentations: colour-only distortion, zoom-out with a per-channel fill, S x S output, config errors."""
import numpy as np
import pytest
from detectron2.data import transforms as T

from d2ext.config import get_cfg
from d2ext.ssd.data import (ExpandTransform, IoUConstrainedCrop, PhotometricDistortion, RandomExpand,
                            build_ssd_augmentations, distort_colors)


def _image(h=40, w=60):
    """An (h, w, 3) uint8 image with distinct values per pixel and channel."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy * 3 % 256, xx * 4 % 256, (yy + xx) % 256], axis=-1).astype(np.uint8)


def test_photometric_distortion_changes_colours_only():
    image, boxes = _image(), np.array([[5.0, 6.0, 30.0, 20.0]])
    changed = 0
    for seed in range(10):
        np.random.seed(seed)
        transform = PhotometricDistortion("BGR").get_transform(image)
        assert isinstance(transform, T.ColorTransform)
        out = transform.apply_image(image)
        assert out.shape == image.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(transform.apply_box(boxes.copy()), boxes)
        changed += not np.array_equal(out, image)
    assert changed >= 5  # each of the five steps happens with probability 0.5


@pytest.mark.parametrize("image_format", ["BGR", "RGB"])
def test_hue_shift_follows_the_image_format(image_format):
    # Pure red shifted by +18 degrees of hue turns towards yellow (green rises), not towards magenta (blue
    # rises): that holds only when HSV is computed in the image's own channel order.
    red_rgb = np.array([255, 0, 0], np.uint8)
    red = np.tile(red_rgb if image_format == "RGB" else red_rgb[::-1], (4, 4, 1))
    out = distort_colors(red, image_format, hue=18.0)
    r, g, b = out[0, 0] if image_format == "RGB" else out[0, 0, ::-1]
    assert r == 255 and 60 <= g <= 90 and b == 0


@pytest.mark.parametrize("image_format", ["BGR", "RGB"])
def test_saturation_keeps_the_hue_of_pure_red(image_format):
    red = np.tile(np.array([255, 0, 0], np.uint8), (4, 4, 1))  # red in RGB, blue in BGR: both pure hues
    out = distort_colors(red, image_format, saturation=0.5)
    np.testing.assert_array_equal(out[0, 0], [255, 128, 128])  # half saturated, same hue, same value


def test_distort_colors_defaults_change_nothing_and_results_are_clipped():
    image = _image()
    np.testing.assert_array_equal(distort_colors(image, "RGB"), image)
    assert distort_colors(image, "RGB", brightness=32.0, contrast=1.5).max() == 255
    np.testing.assert_array_equal(distort_colors(image, "RGB", permutation=(2, 0, 1)), image[..., [2, 0, 1]])


def test_photometric_distortion_rejects_other_formats():
    with pytest.raises(ValueError, match="image_format = 'L'.*INPUT.FORMAT"):
        PhotometricDistortion("L")


def test_random_expand_places_the_image_on_a_filled_canvas():
    image, fill = _image(), (103.53, 116.28, 123.675)
    boxes = np.array([[5.0, 6.0, 30.0, 20.0]])
    sizes = set()
    for seed in range(20):
        np.random.seed(seed)
        transform = RandomExpand(max_ratio=3.0, prob=1.0, fill=fill).get_transform(image)
        assert isinstance(transform, ExpandTransform)
        out = transform.apply_image(image)
        x0, y0 = transform.x0, transform.y0
        assert 40 <= out.shape[0] <= 120 and 60 <= out.shape[1] <= 180 and out.dtype == np.uint8
        np.testing.assert_array_equal(out[y0:y0 + 40, x0:x0 + 60], image)
        mask = np.ones(out.shape[:2], bool)
        mask[y0:y0 + 40, x0:x0 + 60] = False
        assert (out[mask] == [104, 116, 124]).all()
        np.testing.assert_allclose(transform.apply_box(boxes.copy()), boxes + [x0, y0, x0, y0])
        sizes.add(out.shape)
    assert len(sizes) > 10 and any(s[0] > 80 for s in sizes)


def test_random_expand_with_probability_zero_does_nothing():
    np.random.seed(0)
    for _ in range(20):
        assert isinstance(RandomExpand(4.0, 0.0, fill=(0, 0, 0)).get_transform(_image()), T.NoOpTransform)


def ssd_cfg(**overrides):
    cfg = get_cfg()
    cfg.merge_from_list([item for kv in overrides.items() for item in kv])
    return cfg


@pytest.mark.parametrize("is_train", [True, False])
def test_pipelines_give_the_ssd_image_size(is_train):
    cfg = ssd_cfg(**{"MODEL.SSD.IMAGE_SIZE": 64, "INPUT.SSD.EXPAND_PROB": 1.0})
    augmentations = T.AugmentationList(build_ssd_augmentations(cfg, is_train))
    for seed in range(10):
        np.random.seed(seed)
        aug_input = T.AugInput(_image(), boxes=np.array([[5.0, 6.0, 30.0, 20.0]]))
        augmentations(aug_input)
        assert aug_input.image.shape == (64, 64, 3) and aug_input.image.dtype == np.uint8


def test_training_pipeline_follows_the_config():
    names = [type(a).__name__ for a in build_ssd_augmentations(ssd_cfg(), is_train=True)]
    assert names == ["PhotometricDistortion", "RandomExpand", "IoUConstrainedCrop", "Resize", "RandomFlip"]
    cfg = ssd_cfg(**{"INPUT.SSD.PHOTOMETRIC_DISTORTION": False, "INPUT.SSD.MAX_EXPAND_RATIO": 1.0,
                     "INPUT.SSD.MIN_IOU_CROP": False, "INPUT.RANDOM_FLIP": "none"})
    assert [type(a).__name__ for a in build_ssd_augmentations(cfg, is_train=True)] == ["Resize"]
    assert [type(a).__name__ for a in build_ssd_augmentations(ssd_cfg(), is_train=False)] == ["Resize"]


@pytest.mark.parametrize("key, value, message", [
    ("INPUT.SSD.MAX_EXPAND_RATIO", 0.5, r"INPUT.SSD.MAX_EXPAND_RATIO = 0.5 is < 1"),
    ("INPUT.SSD.EXPAND_PROB", 1.5, r"INPUT.SSD.EXPAND_PROB = 1.5 is not a probability"),
    ("INPUT.SSD.EXPAND_PROB", -0.1, r"INPUT.SSD.EXPAND_PROB = -0.1 is not a probability"),
    ("INPUT.SSD.MIN_CROP_SIZE", 0.0, r"INPUT.SSD.MIN_CROP_SIZE = 0.0 is not in \(0, 1\]"),
    ("INPUT.SSD.MIN_CROP_SIZE", 1.5, r"INPUT.SSD.MIN_CROP_SIZE = 1.5 is not in \(0, 1\]"),
    ("INPUT.SSD.MIN_IOUS", (0.1, 1.3), r"INPUT.SSD.MIN_IOUS = \(0.1, 1.3\)"),
    ("INPUT.RANDOM_FLIP", "diagonal", r"INPUT.RANDOM_FLIP = 'diagonal'"),
    ("MODEL.SSD.IMAGE_SIZE", 0, r"MODEL.SSD.IMAGE_SIZE = 0 is not a positive integer"),
])
def test_bad_values_name_the_key(key, value, message):
    with pytest.raises(ValueError, match=message):
        build_ssd_augmentations(ssd_cfg(**{key: value}), is_train=True)


def test_iou_constrained_crop_keeps_a_box_centre_and_the_drawn_minimum_iou():
    crop = IoUConstrainedCrop(min_ious=(0.5,), min_crop_size=0.3)  # draws: whole image, IoU >= 0.5 or any patch
    image = np.zeros((100, 120, 3), np.uint8)
    boxes = np.array([[10.0, 20.0, 50.0, 60.0], [70.0, 10.0, 110.0, 40.0]])
    np.random.seed(0)
    origins, cropped = [], 0
    for _ in range(300):
        transform = crop.get_transform(image, boxes)
        if isinstance(transform, T.NoOpTransform):
            continue
        cropped += 1
        x0, y0, w, h = transform.x0, transform.y0, transform.w, transform.h
        assert 0 <= x0 and x0 + w <= 120 and 0 <= y0 and y0 + h <= 100 and 0.5 <= h / w <= 2
        assert w >= 0.3 * 120 - 1 and h >= 0.3 * 100 - 1
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        assert ((centres > (x0, y0)) & (centres < (x0 + w, y0 + h))).all(axis=1).any()
        origins.append((x0, y0))
    assert cropped > 100 and min(x for x, _ in origins) == 0  # offsets reach the image's edge
    assert crop.get_transform(image, None).__class__ is T.NoOpTransform
