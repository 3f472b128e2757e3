"""detectron2's DefaultPredictor with the test-time image pipeline of the config's dataset mapper."""
from detectron2.data import transforms as T
from detectron2.engine import DefaultPredictor

from ..data import build_mapper

__all__ = ["Predictor"]


class _MapperAugmentations:
    """The `augmentations` of a dataset mapper behind the ``get_transform(image)`` call DefaultPredictor makes."""

    def __init__(self, augmentations):
        self.augmentations = augmentations

    def get_transform(self, image):
        return self.augmentations(T.AugInput(image))


class Predictor(DefaultPredictor):
    """
    DefaultPredictor (BGR (H, W, 3) image in, one model output dict out) whose resizing is that of
    the INPUT.DATASET_MAPPER at test time, so a classifier sees the same resize and centre crop as
    in evaluation and a detector the same shortest-edge resize as before.
    """

    def __init__(self, cfg):
        super().__init__(cfg)
        self.aug = _MapperAugmentations(build_mapper(self.cfg, is_train=False).augmentations)
