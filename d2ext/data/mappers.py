"""Dataset mappers, chosen by ``cfg.INPUT.DATASET_MAPPER`` from ``MAPPER_REGISTRY``."""
import contextlib
import copy

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import DatasetMapper as _Detectron2DatasetMapper
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from fvcore.common.registry import Registry

from .datasets.errors import DatasetError
from .transforms import build_classification_augmentations

__all__ = ["MAPPER_REGISTRY", "DatasetMapper", "ClassificationDatasetMapper", "build_mapper"]

MAPPER_REGISTRY = Registry("D2EXT_MAPPER")
MAPPER_REGISTRY.__doc__ = """
Dataset mappers: classes built as ``cls(cfg, is_train)`` (detectron2's @configurable convention)
that turn one dataset dict into the model's input dict. Each has an ``augmentations``
(T.AugmentationList) attribute: what it does to an image, reused by d2ext's Predictor.
"""


@contextlib.contextmanager
def naming_unreadable_image(file_name):
    """Turn an OSError from reading `file_name` (missing, unidentifiable, truncated) into a DatasetError naming it."""
    try:
        yield
    except OSError as e:
        raise DatasetError(f"{file_name}: cannot read this image ({e}). "
                           "Replace the file or remove its entry from the dataset.") from e


@MAPPER_REGISTRY.register()
class DatasetMapper(_Detectron2DatasetMapper):
    """detectron2's DatasetMapper; an image that cannot be read raises DatasetError naming the file."""

    def __call__(self, dataset_dict):
        with naming_unreadable_image(dataset_dict.get("file_name")):
            return super().__call__(dataset_dict)


@MAPPER_REGISTRY.register()
class ClassificationDatasetMapper:
    """
    Classification record {"file_name", "label", ...} -> the same dict plus "image": a (3, S, S)
    uint8 tensor in INPUT.FORMAT, S = INPUT.CLS.CROP_SIZE, after the INPUT.CLS augmentations.
    """

    @configurable
    def __init__(self, *, augmentations, image_format):
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format

    @classmethod
    def from_config(cls, cfg, is_train=True):
        return {"augmentations": build_classification_augmentations(cfg, is_train), "image_format": cfg.INPUT.FORMAT}

    def __call__(self, dataset_dict):
        dataset_dict = copy.copy(dataset_dict)
        with naming_unreadable_image(dataset_dict["file_name"]):
            image = utils.read_image(dataset_dict["file_name"], format=self.image_format)
        aug_input = T.AugInput(image)
        self.augmentations(aug_input)
        dataset_dict["image"] = torch.as_tensor(np.ascontiguousarray(aug_input.image.transpose(2, 0, 1)))
        return dataset_dict


def build_mapper(cfg, is_train):
    """The mapper named by ``cfg.INPUT.DATASET_MAPPER``."""
    return MAPPER_REGISTRY.get(cfg.INPUT.DATASET_MAPPER)(cfg, is_train)
