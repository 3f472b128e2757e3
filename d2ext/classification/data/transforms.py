"""Classification augmentations as detectron2 ``Augmentation``s, and the pipeline INPUT.CLS asks for."""
import math

import numpy as np
from detectron2.data import transforms as T
from PIL import Image

from ...data.transforms import build_random_flip, resize_and_crop

__all__ = ["RandomResizedCrop", "build_classification_augmentations"]


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


def build_classification_augmentations(cfg, is_train):
    """The INPUT.CLS pipeline: list of Augmentations producing CROP_SIZE x CROP_SIZE images."""
    resize, crop = cfg.INPUT.CLS.RESIZE, cfg.INPUT.CLS.CROP_SIZE
    keys = ("INPUT.CLS.RESIZE", "INPUT.CLS.CROP_SIZE")
    test = resize_and_crop(resize, crop, keys, random_crop=False)
    if not is_train:
        return test
    train_crops = {
        "RandomResizedCrop": lambda: [RandomResizedCrop(crop, tuple(cfg.INPUT.CLS.TRAIN_SCALE),
                                                        tuple(cfg.INPUT.CLS.TRAIN_RATIO))],
        "RandomCrop": lambda: resize_and_crop(resize, crop, keys, random_crop=True),
        "CenterCrop": lambda: test,
    }
    if cfg.INPUT.CLS.TRAIN_CROP not in train_crops:
        raise ValueError(f"INPUT.CLS.TRAIN_CROP = {cfg.INPUT.CLS.TRAIN_CROP!r}: choose one of {sorted(train_crops)}.")
    return train_crops[cfg.INPUT.CLS.TRAIN_CROP]() + build_random_flip(cfg)
