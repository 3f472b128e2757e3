"""Dataset mappers, chosen by ``cfg.INPUT.DATASET_MAPPER`` from ``MAPPER_REGISTRY``."""
import contextlib
import copy
import logging

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import DatasetMapper as _Detectron2DatasetMapper
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.structures import BoxMode
from fvcore.common.registry import Registry

from .datasets.errors import DatasetError
from .masks import check_mask_ids, read_mask
from .ssd_transforms import build_ssd_augmentations
from .transforms import build_classification_augmentations, build_gan_augmentations

__all__ = ["MAPPER_REGISTRY", "DatasetMapper", "SSDDatasetMapper", "ClassificationDatasetMapper",
           "GANDatasetMapper", "SemanticSegmentationDatasetMapper", "SkipUnreadable", "build_mapper"]

logger = logging.getLogger(__name__)

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
class SSDDatasetMapper(DatasetMapper):
    """
    Detection record -> detectron2's model input with SSD's augmentations (build_ssd_augmentations): "image",
    a (3, S, S) uint8 tensor in INPUT.FORMAT (S = MODEL.SSD.IMAGE_SIZE), and in training "instances" (maybe
    empty). The non-crowd boxes go into the AugInput, so that the IoU-constrained crop sees them; an
    annotation whose box centre falls outside the augmented image is dropped, as in the SSD paper.
    """

    @classmethod
    def from_config(cls, cfg, is_train=True):
        return {**super().from_config(cfg, is_train), "augmentations": build_ssd_augmentations(cfg, is_train)}

    def __call__(self, dataset_dict):
        dataset_dict = copy.deepcopy(dataset_dict)  # modified below
        with naming_unreadable_image(dataset_dict["file_name"]):
            image = utils.read_image(dataset_dict["file_name"], format=self.image_format)
        utils.check_image_size(dataset_dict, image)
        annotations = [obj for obj in dataset_dict.pop("annotations", []) if obj.get("iscrowd", 0) == 0]
        boxes = np.array([BoxMode.convert(obj["bbox"], obj["bbox_mode"], BoxMode.XYXY_ABS) for obj in annotations],
                         dtype=np.float64).reshape(-1, 4)
        aug_input = T.AugInput(image, boxes=boxes)
        transforms = self.augmentations(aug_input)
        image_shape = aug_input.image.shape[:2]
        dataset_dict["image"] = torch.as_tensor(np.ascontiguousarray(aug_input.image.transpose(2, 0, 1)))
        if not self.is_train:
            return dataset_dict
        # aug_input.boxes = transforms.apply_box(boxes), not clipped. A centre on the border is outside.
        centres = (aug_input.boxes[:, :2] + aug_input.boxes[:, 2:]) / 2
        inside = (centres > 0).all(axis=1) & (centres < image_shape[::-1]).all(axis=1)
        dataset_dict["annotations"] = [obj for obj, keep in zip(annotations, inside) if keep]
        self._transform_annotations(dataset_dict, transforms, image_shape)
        return dataset_dict


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


@MAPPER_REGISTRY.register()
class GANDatasetMapper(ClassificationDatasetMapper):
    """
    Image record {"file_name", ...} -> the same dict (other keys, such as "domain" or "label", pass through)
    plus "image": a (C, S, S) uint8 tensor in INPUT.FORMAT (C = 1 for "L", else 3), S = INPUT.GAN.IMAGE_SIZE,
    after the INPUT.GAN augmentations (build_gan_augmentations).
    """

    @classmethod
    def from_config(cls, cfg, is_train=True):
        return {"augmentations": build_gan_augmentations(cfg, is_train), "image_format": cfg.INPUT.FORMAT}


@MAPPER_REGISTRY.register()
class SemanticSegmentationDatasetMapper:
    """
    Semantic segmentation record {"file_name", "sem_seg_file_name", ...} -> the same dict plus "image":
    a (3, H, W) uint8 tensor in INPUT.FORMAT, resized (INPUT.MIN_SIZE_*), and in training randomly cropped
    (INPUT.CROP) and flipped (INPUT.RANDOM_FLIP) together with "sem_seg": the (H, W) int64 tensor of its
    mask's class ids (MODEL.SEM_SEG_HEAD.NUM_CLASSES classes, IGNORE_VALUE on unscored pixels).
    """

    @configurable
    def __init__(self, *, augmentations, image_format, is_train, num_classes, ignore_label):
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.is_train = is_train
        self.num_classes = num_classes
        self.ignore_label = ignore_label

    @classmethod
    def from_config(cls, cfg, is_train=True):
        augmentations = utils.build_augmentation(cfg, is_train)  # resize, then the training flip
        if is_train and cfg.INPUT.CROP.ENABLED:
            augmentations.insert(1, T.RandomCrop_CategoryAreaConstraint(
                cfg.INPUT.CROP.TYPE, cfg.INPUT.CROP.SIZE, cfg.INPUT.CROP.SINGLE_CATEGORY_MAX_AREA,
                cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE))
        return {"augmentations": augmentations, "image_format": cfg.INPUT.FORMAT, "is_train": is_train,
                "num_classes": cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES, "ignore_label": cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE}

    def _read_mask(self, dataset_dict, image):
        """The record's mask, checked against `image` ((H, W, C)) and the class ids, as a type the transforms resize."""
        file_name = dataset_dict["sem_seg_file_name"]
        mask = read_mask(file_name)
        if mask.shape != image.shape[:2]:
            raise DatasetError(f"{file_name}: the mask is {mask.shape[1]}x{mask.shape[0]} (WxH) but its image "
                               f"{dataset_dict['file_name']} is {image.shape[1]}x{image.shape[0]}. Save the mask "
                               "at the size of its image.")
        check_mask_ids(mask, self.num_classes, self.ignore_label, file_name)
        # detectron2 resizes uint8 masks with PIL (nearest) and other dtypes with torch, which has no
        # integer interpolation: float32 holds ids exactly up to 2**24.
        return mask.astype(np.uint8 if 0 <= mask.min() and mask.max() <= 255 else np.float32)

    def __call__(self, dataset_dict):
        dataset_dict = copy.copy(dataset_dict)
        with naming_unreadable_image(dataset_dict["file_name"]):
            image = utils.read_image(dataset_dict["file_name"], format=self.image_format)
        aug_input = T.AugInput(image, sem_seg=self._read_mask(dataset_dict, image) if self.is_train else None)
        self.augmentations(aug_input)
        dataset_dict["image"] = torch.as_tensor(np.ascontiguousarray(aug_input.image.transpose(2, 0, 1)))
        if self.is_train:
            dataset_dict["sem_seg"] = torch.as_tensor(aug_input.sem_seg.astype(np.int64))
        return dataset_dict


class SkipUnreadable:
    """
    A training mapper that skips the records its `mapper` cannot read (DatasetError: a missing, unreadable or
    truncated image, a bad mask): it logs each one with the reason and the count so far, and returns None,
    which detectron2's data loader replaces by another record. Other attributes are the wrapped mapper's.
    """

    def __init__(self, mapper):
        self.mapper = mapper
        self.num_skipped = 0

    def __getattr__(self, name):  # called only for attributes SkipUnreadable itself lacks
        if name == "mapper":  # not set yet: while unpickling in a spawned worker
            raise AttributeError(name)
        return getattr(self.mapper, name)

    def __call__(self, dataset_dict):
        try:
            return self.mapper(dataset_dict)
        except DatasetError as e:
            self.num_skipped += 1
            logger.warning(f"Skipped a training record ({self.num_skipped} so far in this data loader process, "
                           f"DATALOADER.SKIP_UNREADABLE): {e}")
            return None


def build_mapper(cfg, is_train):
    """
    The mapper named by ``cfg.INPUT.DATASET_MAPPER``. A record it cannot read stops training with an error
    naming the file, unless DATALOADER.SKIP_UNREADABLE, under which training skips it (SkipUnreadable).
    """
    mapper = MAPPER_REGISTRY.get(cfg.INPUT.DATASET_MAPPER)(cfg, is_train)
    return SkipUnreadable(mapper) if is_train and cfg.DATALOADER.SKIP_UNREADABLE else mapper
