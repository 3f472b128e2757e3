"""detectron2's DefaultPredictor with the test-time image pipeline of the config's dataset mapper."""
from detectron2.data import transforms as T
from detectron2.engine import DefaultPredictor

from ..checkpoint import Checkpointer
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
    in evaluation and a detector the same shortest-edge resize as before. MODEL.WEIGHTS loads through d2ext's
    Checkpointer, which refuses files that would run code (DefaultPredictor's own loader unpickles .pkl freely).
    """

    def __init__(self, cfg):
        without_weights = cfg.clone()
        without_weights.defrost()
        without_weights.MODEL.WEIGHTS = ""
        super().__init__(without_weights)
        self.cfg = cfg.clone()
        Checkpointer(self.model).load(cfg.MODEL.WEIGHTS)
        self.aug = _MapperAugmentations(build_mapper(self.cfg, is_train=False).augmentations)
