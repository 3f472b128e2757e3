"""Augmentations that several tasks share, as detectron2 ``Augmentation``s."""
from detectron2.data import transforms as T
from PIL import Image

__all__ = ["CenterCrop", "ResizeShortEdgeAsTorchvision", "resize_and_crop", "build_random_flip"]


class ResizeShortEdgeAsTorchvision(T.Augmentation):
    """
    The short side to `size` and the long one to int(size * long / short), as torchvision's ``Resize(size)``
    (detectron2's ResizeShortestEdge rounds the long side instead: a pixel more for half of the sizes).
    """

    def __init__(self, size, interp=Image.BILINEAR):
        super().__init__()
        self._init(locals())

    def get_transform(self, image):
        height, width = image.shape[:2]
        long_side = int(self.size * max(height, width) / min(height, width))
        new_height, new_width = (self.size, long_side) if height <= width else (long_side, self.size)
        return T.ResizeTransform(height, width, new_height, new_width, self.interp)


class CenterCrop(T.Augmentation):
    """The central size x size region, placed as torchvision's CenterCrop; the image must be at least that large."""

    def __init__(self, size):
        super().__init__()
        self._init(locals())

    def get_transform(self, image):
        height, width = image.shape[:2]
        if height < self.size or width < self.size:
            raise ValueError(f"CenterCrop({self.size}) of a {width}x{height} image: resize it to at least "
                             f"{self.size} px first.")
        x0, y0 = int(round((width - self.size) / 2)), int(round((height - self.size) / 2))
        return T.CropTransform(x0, y0, self.size, self.size)


def resize_and_crop(resize, size, keys, random_crop):
    """
    [short side to `resize` (as torchvision), `size` x `size` crop (random or central)]; `keys`, the config keys of
    `resize` and `size`, name them in the error when `resize` < `size`.
    """
    if resize < size:
        raise ValueError(f"{keys[0]} = {resize} is smaller than {keys[1]} = {size}; "
                         f"the crop needs {keys[0]} >= {keys[1]}.")
    crop = T.RandomCrop("absolute", (size, size)) if random_crop else CenterCrop(size)
    return [ResizeShortEdgeAsTorchvision(resize), crop]


def build_random_flip(cfg):
    """The training flip INPUT.RANDOM_FLIP asks for: [T.RandomFlip] ("horizontal" or "vertical"), or [] ("none")."""
    flip = cfg.INPUT.RANDOM_FLIP
    if flip not in ("horizontal", "vertical", "none"):
        raise ValueError(f"INPUT.RANDOM_FLIP = {flip!r}: choose 'horizontal', 'vertical' or 'none'.")
    return [] if flip == "none" else [T.RandomFlip(horizontal=flip == "horizontal", vertical=flip == "vertical")]
