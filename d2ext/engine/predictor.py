"""Predictor: detectron2's DefaultPredictor interface for every d2ext task, batched."""
import numpy as np
import torch
from detectron2.data import MetadataCatalog
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.modeling import build_model
from PIL import Image

from ..checkpoint import SafeCheckpointer
from ..data import build_mapper
from ..export import ExportedModel
from .mixed_precision import inference_precision
from .trainer import memory_format

__all__ = ["Predictor"]


class Predictor:
    """
    DefaultPredictor's interface (a BGR (H, W, 3) uint8 image in, the model's output dict for it out) for every
    d2ext task. Unlike DefaultPredictor, the image is resized (and cropped) as the config's INPUT.DATASET_MAPPER
    does at test time, so a classifier sees the same resize and centre crop as in evaluation, an SSD its square
    input; it is converted to any INPUT.FORMAT ("BGR", "RGB" or "L"); MODEL.WEIGHTS loads through
    SafeCheckpointer, which refuses files that would run code; inference runs under torch.inference_mode,
    autocast when TEST.AMP.ENABLED, in channels_last when MODEL.CHANNELS_LAST.

    `backend`: "pytorch" (the model built from `cfg`, MODEL.WEIGHTS its weights), or "onnxruntime" / "torchscript"
    (MODEL.WEIGHTS names a folder written by tools/export_model.py; same inputs, same outputs).

    Attributes: ``cfg``, ``model`` (in eval mode), ``metadata`` (of DATASETS.TEST[0], None without a test
    dataset), ``augmentations`` (the mapper's test-time T.AugmentationList).
    """

    def __init__(self, cfg, backend="pytorch"):
        self.cfg = cfg.clone()
        if backend == "pytorch":
            self.model = build_model(self.cfg).eval().to(memory_format=memory_format(cfg))
            SafeCheckpointer(self.model).load(cfg.MODEL.WEIGHTS)
        else:
            self.model = ExportedModel(self.cfg, cfg.MODEL.WEIGHTS, backend).eval()
        self.metadata = MetadataCatalog.get(cfg.DATASETS.TEST[0]) if cfg.DATASETS.TEST else None
        self.augmentations = build_mapper(self.cfg, is_train=False).augmentations
        self.input_format = cfg.INPUT.FORMAT

    def __call__(self, original_image):
        """BGR (H, W, 3) uint8 image -> the model's output dict for it."""
        return self.predict_batch([original_image])[0]

    def predict_batch(self, original_images, **fields):
        """
        BGR (H, W, 3) uint8 images -> the model's output dicts, from one forward over all of them. `fields` are
        added to every model input (e.g. ``domain="B"`` for a CycleGAN).
        """
        return self._run([{**self.model_input(image), **fields} for image in original_images])

    def generate(self, seeds):
        """Integer seeds -> the outputs of a model that generates images from seeds (DCGAN: "generated")."""
        return self._run([{"seed": int(seed)} for seed in seeds])

    def model_input(self, original_image):
        """The model's input dict for one BGR image: "image" ((C, H', W') uint8 after the test-time transforms), "height", "width"."""
        height, width = original_image.shape[:2]
        rgb = Image.fromarray(np.ascontiguousarray(original_image[:, :, ::-1]))
        aug_input = T.AugInput(utils.convert_PIL_to_numpy(rgb, self.input_format))
        self.augmentations(aug_input)
        image = np.ascontiguousarray(aug_input.image.transpose(2, 0, 1))
        return {"image": torch.as_tensor(image), "height": height, "width": width}

    def _run(self, inputs):
        with torch.inference_mode(), inference_precision(self.cfg):
            return self.model(inputs)
