"""Dataset mappers, chosen by ``cfg.INPUT.DATASET_MAPPER`` from ``MAPPER_REGISTRY``."""
import copy
import logging

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import DatasetMapper
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.utils.registry import Registry

from .errors import DatasetError

__all__ = ["MAPPER_REGISTRY", "ImageRecordMapper", "UnreadableRecords", "build_mapper"]

logger = logging.getLogger(__name__)

MAPPER_REGISTRY = Registry("D2EXT_MAPPER")
MAPPER_REGISTRY.__doc__ = """
Dataset mappers: classes built as ``cls(cfg, is_train)`` (detectron2's @configurable convention) that turn
one dataset dict into the model's input dict. Each has an ``augmentations`` (T.AugmentationList) attribute:
what it does to an image, reused by d2ext's Predictor. "DatasetMapper" is detectron2's own.
"""
MAPPER_REGISTRY.register(DatasetMapper)


class ImageRecordMapper:
    """
    Image record {"file_name", ...} -> the same dict (other keys, such as "label", pass through) plus "image":
    a (C, H, W) uint8 tensor in INPUT.FORMAT (C = 1 for "L", else 3) after the `augmentations`, and "height"
    and "width": the image's as read (checked against the record's when it has them, as detectron2's
    DatasetMapper does). A base for the mappers of tasks whose images carry no boxes or masks; subclasses give
    the augmentations in from_config.
    """

    @configurable
    def __init__(self, *, augmentations, image_format):
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format

    def __call__(self, dataset_dict):
        dataset_dict = copy.copy(dataset_dict)
        image = utils.read_image(dataset_dict["file_name"], format=self.image_format)
        utils.check_image_size(dataset_dict, image)
        aug_input = T.AugInput(image)
        self.augmentations(aug_input)
        # a C-ordered copy: read_image's grayscale array is a read-only view of the PIL image
        dataset_dict["image"] = torch.from_numpy(np.array(aug_input.image.transpose(2, 0, 1), order="C"))
        return dataset_dict


class UnreadableRecords:
    """
    A dataset mapper whose records' unreadable files (missing, unidentifiable, truncated: an OSError) raise a
    DatasetError naming the record's image, and, with `skip`, one that skips the records it cannot read
    (any DatasetError, a bad mask included): it logs each with the reason and the count so far and returns
    None, which detectron2's data loader replaces by another record. Other attributes are the wrapped mapper's.
    """

    def __init__(self, mapper, skip=False):
        self.mapper = mapper
        self.skip = skip
        self.num_skipped = 0

    def __getattr__(self, name):  # called only for attributes UnreadableRecords itself lacks
        if name == "mapper":  # not set yet: while unpickling in a spawned worker
            raise AttributeError(name)
        return getattr(self.mapper, name)

    def __call__(self, dataset_dict):
        try:
            try:
                return self.mapper(dataset_dict)
            except OSError as e:
                raise DatasetError(f"{dataset_dict.get('file_name')}: cannot read this image ({e}). "
                                   "Replace the file or remove its entry from the dataset.") from e
        except DatasetError as e:
            if not self.skip:
                raise
            self.num_skipped += 1
            logger.warning(f"Skipped a training record ({self.num_skipped} so far in this data loader process, "
                           f"DATALOADER.SKIP_UNREADABLE): {e}")
            return None


def build_mapper(cfg, is_train):
    """
    The mapper named by ``cfg.INPUT.DATASET_MAPPER``. A record it cannot read stops with a DatasetError naming
    the file, unless DATALOADER.SKIP_UNREADABLE, under which training skips it (UnreadableRecords).
    """
    if cfg.INPUT.DATASET_MAPPER not in MAPPER_REGISTRY:
        raise ValueError(f"INPUT.DATASET_MAPPER = {cfg.INPUT.DATASET_MAPPER!r}: choose one of "
                         f"{sorted(name for name, _ in MAPPER_REGISTRY)}.")
    mapper = MAPPER_REGISTRY.get(cfg.INPUT.DATASET_MAPPER)(cfg, is_train)
    return UnreadableRecords(mapper, skip=is_train and cfg.DATALOADER.SKIP_UNREADABLE)
