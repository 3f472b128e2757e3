"""Classification and GAN augmentations as detectron2 ``Augmentation``s, and the pipeline the config asks for."""
import math

import numpy as np
from detectron2.data import transforms as T
from PIL import Image

__all__ = ["RandomResizedCrop", "CenterCrop", "build_classification_augmentations", "build_gan_augmentations",
           "build_random_flip"]


class RandomResizedCrop(T.Augmentation):
    """
    Inception-style crop (torchvision's RandomResizedCrop): a random region of `scale` times the image
    area with aspect ratio (log-uniform) in `ratio`, resized to size x size. When 10 draws do not fit,
    the largest centred crop with an aspect ratio in `ratio` is taken.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interp=Image.BILINEAR):
        super().__init__()
        self._init(locals())

    def get_transform(self, image):
        height, width = image.shape[:2]
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                x0, y0 = np.random.randint(0, width - w + 1), np.random.randint(0, height - h + 1)
                break
        else:
            aspect = min(max(width / height, self.ratio[0]), self.ratio[1])
            w, h = (width, int(round(width / aspect))) if width / height < aspect else (int(round(height * aspect)), height)
            w, h = min(w, width), min(h, height)
            x0, y0 = (width - w) // 2, (height - h) // 2
        return T.TransformList([T.CropTransform(x0, y0, w, h),
                                T.ResizeTransform(h, w, self.size, self.size, self.interp)])


class CenterCrop(T.Augmentation):
    """The central size x size region; the image must be at least that large."""

    def __init__(self, size):
        super().__init__()
        self._init(locals())

    def get_transform(self, image):
        height, width = image.shape[:2]
        if height < self.size or width < self.size:
            raise ValueError(f"CenterCrop({self.size}) of a {width}x{height} image: resize it first "
                             "(INPUT.CLS.RESIZE must be at least INPUT.CLS.CROP_SIZE).")
        return T.CropTransform((width - self.size) // 2, (height - self.size) // 2, self.size, self.size)


def _resize_and_crop(resize, size, keys, random_crop):
    """
    [shortest edge to `resize`, `size` x `size` crop (random or central)]; `keys`, the config keys of
    `resize` and `size`, name them in the error when `resize` < `size`.
    """
    if resize < size:
        raise ValueError(f"{keys[0]} = {resize} is smaller than {keys[1]} = {size}; "
                         f"the crop needs {keys[0]} >= {keys[1]}.")
    crop = T.RandomCrop("absolute", (size, size)) if random_crop else CenterCrop(size)
    return [T.ResizeShortestEdge(resize, sample_style="choice"), crop]


def build_classification_augmentations(cfg, is_train):
    """The INPUT.CLS pipeline: list of Augmentations producing CROP_SIZE x CROP_SIZE images."""
    resize, crop = cfg.INPUT.CLS.RESIZE, cfg.INPUT.CLS.CROP_SIZE
    keys = ("INPUT.CLS.RESIZE", "INPUT.CLS.CROP_SIZE")
    test = _resize_and_crop(resize, crop, keys, random_crop=False)
    if not is_train:
        return test
    train_crops = {
        "RandomResizedCrop": lambda: [RandomResizedCrop(crop, tuple(cfg.INPUT.CLS.TRAIN_SCALE),
                                                        tuple(cfg.INPUT.CLS.TRAIN_RATIO))],
        "RandomCrop": lambda: _resize_and_crop(resize, crop, keys, random_crop=True),
        "CenterCrop": lambda: test,
    }
    if cfg.INPUT.CLS.TRAIN_CROP not in train_crops:
        raise ValueError(f"INPUT.CLS.TRAIN_CROP = {cfg.INPUT.CLS.TRAIN_CROP!r}: choose one of {sorted(train_crops)}.")
    return train_crops[cfg.INPUT.CLS.TRAIN_CROP]() + build_random_flip(cfg)


def build_gan_augmentations(cfg, is_train):
    """
    The INPUT.GAN pipeline: list of Augmentations producing IMAGE_SIZE x IMAGE_SIZE images: shortest edge
    to RESIZE, crop (random in training when RESIZE > IMAGE_SIZE, else central), training flip.
    """
    resize, size = cfg.INPUT.GAN.RESIZE, cfg.INPUT.GAN.IMAGE_SIZE
    augmentations = _resize_and_crop(resize, size, ("INPUT.GAN.RESIZE", "INPUT.GAN.IMAGE_SIZE"),
                                     random_crop=is_train and resize > size)
    return augmentations + (build_random_flip(cfg) if is_train else [])


def build_random_flip(cfg):
    """The training flip INPUT.RANDOM_FLIP asks for: [T.RandomFlip] ("horizontal" or "vertical"), or [] ("none")."""
    flip = cfg.INPUT.RANDOM_FLIP
    if flip not in ("horizontal", "vertical", "none"):
        raise ValueError(f"INPUT.RANDOM_FLIP = {flip!r}: choose 'horizontal', 'vertical' or 'none'.")
    return [] if flip == "none" else [T.RandomFlip(horizontal=flip == "horizontal", vertical=flip == "vertical")]
