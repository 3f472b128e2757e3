"""detectron2's DefaultPredictor with the test-time image pipeline of the config's dataset mapper, batched."""
import torch
from detectron2.data import transforms as T
from detectron2.engine import DefaultPredictor

from ..checkpoint import Checkpointer
from ..data import build_mapper
from .mixed_precision import inference_precision
from .trainer import memory_format

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
    ``predict_batch`` runs several images in one forward; inference runs under torch.inference_mode, and
    autocast when TEST.AMP.ENABLED.
    """

    def __init__(self, cfg):
        without_weights = cfg.clone()
        without_weights.defrost()
        without_weights.MODEL.WEIGHTS = ""
        super().__init__(without_weights)
        self.cfg = cfg.clone()
        self.model.to(memory_format=memory_format(cfg))
        Checkpointer(self.model).load(cfg.MODEL.WEIGHTS)
        self.aug = _MapperAugmentations(build_mapper(self.cfg, is_train=False).augmentations)

    def __call__(self, original_image):
        """BGR (H, W, 3) uint8 image -> the model's output dict for it."""
        return self.predict_batch([original_image])[0]

    def predict_batch(self, original_images):
        """BGR (H, W, 3) uint8 images -> the model's output dicts, from one forward over all of them."""
        with torch.inference_mode(), inference_precision(self.cfg):
            return self.model([self._model_input(image) for image in original_images])

    def _model_input(self, original_image):
        """DefaultPredictor's input dict for one BGR image: resized "image" (C, H', W') and the original size."""
        if self.input_format == "RGB":
            original_image = original_image[:, :, ::-1]
        height, width = original_image.shape[:2]
        image = self.aug.get_transform(original_image).apply_image(original_image)
        return {"image": torch.as_tensor(image.astype("float32").transpose(2, 0, 1)), "height": height, "width": width}
