"""SSD's training augmentations as detectron2 ``Augmentation``s, and the pipeline INPUT.SSD asks for."""
import functools

import cv2
import numpy as np
from detectron2.data import transforms as T
from detectron2.data.transforms import PadTransform

from ...data.transforms import build_random_flip

__all__ = ["distort_colors", "PhotometricDistortion", "ExpandTransform", "RandomExpand", "IoUConstrainedCrop",
           "build_ssd_augmentations"]

_TO_HSV = {"BGR": cv2.COLOR_BGR2HSV, "RGB": cv2.COLOR_RGB2HSV}
_FROM_HSV = {"BGR": cv2.COLOR_HSV2BGR, "RGB": cv2.COLOR_HSV2RGB}


def distort_colors(image, image_format, brightness=0.0, contrast=1.0, contrast_first=True, saturation=1.0,
                   hue=0.0, permutation=(0, 1, 2)):
    """
    (H, W, 3) uint8 `image` in `image_format` ("BGR" or "RGB") -> the distorted uint8 image: `brightness`
    added, pixels multiplied by `contrast` (before or after the HSV step, per `contrast_first`), HSV
    saturation multiplied by `saturation`, hue shifted by `hue` degrees, then channels reordered by
    `permutation`. The defaults change nothing.
    """
    image = image.astype(np.float32)
    if brightness:
        image = np.clip(image + brightness, 0, 255)
    if contrast_first and contrast != 1:
        image = np.clip(image * contrast, 0, 255)
    if saturation != 1 or hue:
        hsv = cv2.cvtColor(image, _TO_HSV[image_format])  # float32: H in [0, 360), S in [0, 1], V in [0, 255]
        hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 1)
        hsv[..., 0] = np.mod(hsv[..., 0] + hue, 360)
        image = cv2.cvtColor(hsv, _FROM_HSV[image_format])
    if not contrast_first and contrast != 1:
        image = image * contrast
    image = image[..., list(permutation)]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


class PhotometricDistortion(T.Augmentation):
    """
    SSD's photometric distortion, each step with probability 0.5: brightness + U(-32, 32); contrast
    x U(0.5, 1.5), before or after (at random) saturation x U(0.5, 1.5) and hue + U(-18, 18) degrees in
    HSV; a random channel permutation. Works on (H, W, 3) uint8 images in `image_format` ("BGR" or
    "RGB"); returns a ColorTransform, so boxes and masks are unchanged.
    """

    def __init__(self, image_format):
        super().__init__()
        if image_format not in _TO_HSV:
            raise ValueError(f"PhotometricDistortion: image_format = {image_format!r}; it works on 'BGR' or 'RGB' "
                             "images. Set INPUT.FORMAT to one of them or INPUT.SSD.PHOTOMETRIC_DISTORTION to False.")
        self._init(locals())

    def get_transform(self, image):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"PhotometricDistortion works on (H, W, 3) uint8 images, got {image.shape} {image.dtype}.")

        def maybe(sample, neutral):
            return sample() if np.random.rand() < 0.5 else neutral

        params = {
            "brightness": maybe(lambda: np.random.uniform(-32, 32), 0.0),
            "contrast": maybe(lambda: np.random.uniform(0.5, 1.5), 1.0),
            "contrast_first": bool(np.random.rand() < 0.5),
            "saturation": maybe(lambda: np.random.uniform(0.5, 1.5), 1.0),
            "hue": maybe(lambda: np.random.uniform(-18, 18), 0.0),
            "permutation": tuple(maybe(lambda: np.random.permutation(3), (0, 1, 2))),
        }
        return T.ColorTransform(functools.partial(distort_colors, image_format=self.image_format, **params))


class ExpandTransform(PadTransform):
    """PadTransform whose image padding is `fill`, one value per channel (segmentation: `seg_pad_value`)."""

    def __init__(self, x0, y0, x1, y1, orig_w, orig_h, fill, seg_pad_value=255):
        super().__init__(x0, y0, x1, y1, orig_w, orig_h, seg_pad_value=seg_pad_value)
        self.fill = fill

    def apply_image(self, img):
        h, w = img.shape[:2]
        canvas = np.empty((self.y0 + h + self.y1, self.x0 + w + self.x1) + img.shape[2:], dtype=img.dtype)
        canvas[...] = self.fill
        canvas[self.y0:self.y0 + h, self.x0:self.x0 + w] = img
        return canvas


class RandomExpand(T.Augmentation):
    """
    SSD's "zoom out": with probability `prob`, the image placed at a random spot of a canvas r times its
    height and width (r uniform in [1, max_ratio]) filled with `fill` (one value per channel, rounded to
    uint8); otherwise nothing. Masks are padded with `seg_pad_value` (the ignore value).
    """

    def __init__(self, max_ratio, prob, fill, seg_pad_value=255):
        super().__init__()
        fill = np.clip(np.rint(np.asarray(fill, dtype=np.float64)), 0, 255).astype(np.uint8)
        self._init(locals())

    def get_transform(self, image):
        if np.random.rand() >= self.prob:
            return T.NoOpTransform()
        h, w = image.shape[:2]
        ratio = np.random.uniform(1, self.max_ratio)
        canvas_h, canvas_w = int(h * ratio), int(w * ratio)
        left, top = np.random.randint(0, canvas_w - w + 1), np.random.randint(0, canvas_h - h + 1)
        return ExpandTransform(left, top, canvas_w - w - left, canvas_h - h - top, w, h, self.fill, self.seg_pad_value)


def _pairwise_iou(a, b):
    """(N, 4) and (M, 4) XYXY arrays -> (N, M) IoU."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=1)  # noqa: E731
    return intersection / (area(a)[:, None] + area(b)[None, :] - intersection)


class IoUConstrainedCrop(T.MinIoURandomCrop):
    """
    SSD's crop, as detectron2's MinIoURandomCrop: the whole image, or a patch (sides >= min_crop_size of the
    image's, height / width in [1/2, 2]) whose IoU with every box is >= a minimum drawn from (*min_ious, 0) and
    that holds at least one box centre. Each draw tests its crop_trials candidate patches at once in numpy
    (detectron2 builds torch Boxes per candidate: ~27 ms per 128x128 image), and offsets are uniform over the
    whole image (detectron2's np.random.uniform(w - new_w) draws them between 1 and w - new_w).
    """

    def get_transform(self, image, boxes):
        if boxes is None:
            return T.NoOpTransform()
        h, w = image.shape[:2]
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        for _ in range(self.mode_trials):
            min_iou = self.sample_mode[np.random.randint(len(self.sample_mode))]
            if min_iou == 1:
                return T.NoOpTransform()
            size = np.random.uniform(self.min_crop_size, 1.0, (self.crop_trials, 2)) * (w, h)
            origin = np.random.uniform(0, 1, (self.crop_trials, 2)) * ((w, h) - size)
            patches = np.floor(np.concatenate([origin, origin + size], axis=1))
            valid = ((0.5 <= size[:, 1] / size[:, 0]) & (size[:, 1] / size[:, 0] <= 2)
                     & (patches[:, 2] > patches[:, 0]) & (patches[:, 3] > patches[:, 1]))
            if len(boxes):
                valid &= _pairwise_iou(patches, boxes).min(axis=1) >= min_iou
                inside = (centres[None, :, :] > patches[:, None, :2]) & (centres[None, :, :] < patches[:, None, 2:])
                valid &= inside.all(axis=2).any(axis=1)
            if valid.any():
                x0, y0, x1, y1 = patches[np.argmax(valid)].astype(int)
                return T.CropTransform(x0, y0, x1 - x0, y1 - y0)
        return T.NoOpTransform()


def _check_ssd_input(cfg):
    """Raise ValueError naming the INPUT.SSD key whose value the training pipeline cannot use."""
    ssd = cfg.INPUT.SSD
    if ssd.MAX_EXPAND_RATIO < 1:
        raise ValueError(f"INPUT.SSD.MAX_EXPAND_RATIO = {ssd.MAX_EXPAND_RATIO} is < 1: the zoom-out canvas is at "
                         "least the image. Use a value >= 1 (1 turns zoom-out off).")
    if not 0 <= ssd.EXPAND_PROB <= 1:
        raise ValueError(f"INPUT.SSD.EXPAND_PROB = {ssd.EXPAND_PROB} is not a probability in [0, 1].")
    if not 0 < ssd.MIN_CROP_SIZE <= 1:
        raise ValueError(f"INPUT.SSD.MIN_CROP_SIZE = {ssd.MIN_CROP_SIZE} is not in (0, 1]: it is the smallest crop "
                         "side as a fraction of the image's.")
    if not all(0 <= iou <= 1 for iou in ssd.MIN_IOUS):
        raise ValueError(f"INPUT.SSD.MIN_IOUS = {tuple(ssd.MIN_IOUS)}: every value must be an IoU in [0, 1].")


def build_ssd_augmentations(cfg, is_train):
    """
    The INPUT.SSD pipeline, a list of Augmentations giving S x S images (S = MODEL.SSD.IMAGE_SIZE): at
    test time a resize; in training photometric distortion, zoom-out, IoU-constrained crop (these three as
    INPUT.SSD enables them), resize and INPUT.RANDOM_FLIP. The crop needs the boxes in the AugInput.
    """
    size = cfg.MODEL.SSD.IMAGE_SIZE
    if not (isinstance(size, int) and size > 0):
        raise ValueError(f"MODEL.SSD.IMAGE_SIZE = {size!r} is not a positive integer (SSD300: 300, SSD512: 512).")
    resize = T.Resize((size, size))
    if not is_train:
        return [resize]
    _check_ssd_input(cfg)
    ssd = cfg.INPUT.SSD
    augmentations = []
    if ssd.PHOTOMETRIC_DISTORTION:
        augmentations.append(PhotometricDistortion(cfg.INPUT.FORMAT))
    if ssd.MAX_EXPAND_RATIO > 1 and ssd.EXPAND_PROB > 0:
        augmentations.append(RandomExpand(ssd.MAX_EXPAND_RATIO, ssd.EXPAND_PROB, fill=cfg.MODEL.PIXEL_MEAN))
    if ssd.MIN_IOU_CROP:
        augmentations.append(IoUConstrainedCrop(min_ious=tuple(ssd.MIN_IOUS), min_crop_size=ssd.MIN_CROP_SIZE))
    return [*augmentations, resize, *build_random_flip(cfg)]
