"""Augmentations that several tasks share, as detectron2 ``Augmentation``s."""
from detectron2.data import transforms as T

__all__ = ["CenterCrop", "resize_and_crop", "build_random_flip"]


class CenterCrop(T.Augmentation):
    """The central size x size region; the image must be at least that large."""

    def __init__(self, size):
        super().__init__()
        self._init(locals())

    def get_transform(self, image):
        height, width = image.shape[:2]
        if height < self.size or width < self.size:
            raise ValueError(f"CenterCrop({self.size}) of a {width}x{height} image: resize it to at least "
                             f"{self.size} px first.")
        return T.CropTransform((width - self.size) // 2, (height - self.size) // 2, self.size, self.size)


def resize_and_crop(resize, size, keys, random_crop):
    """
    [shortest edge to `resize`, `size` x `size` crop (random or central)]; `keys`, the config keys of
    `resize` and `size`, name them in the error when `resize` < `size`.
    """
    if resize < size:
        raise ValueError(f"{keys[0]} = {resize} is smaller than {keys[1]} = {size}; "
                         f"the crop needs {keys[0]} >= {keys[1]}.")
    crop = T.RandomCrop("absolute", (size, size)) if random_crop else CenterCrop(size)
    return [T.ResizeShortestEdge(resize, sample_style="choice"), crop]


def build_random_flip(cfg):
    """The training flip INPUT.RANDOM_FLIP asks for: [T.RandomFlip] ("horizontal" or "vertical"), or [] ("none")."""
    flip = cfg.INPUT.RANDOM_FLIP
    if flip not in ("horizontal", "vertical", "none"):
        raise ValueError(f"INPUT.RANDOM_FLIP = {flip!r}: choose 'horizontal', 'vertical' or 'none'.")
    return [] if flip == "none" else [T.RandomFlip(horizontal=flip == "horizontal", vertical=flip == "vertical")]
