"""The dataset mapper of semantic segmentation: images and their masks of class ids, augmented together."""
import copy

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T

from ...data import MAPPER_REGISTRY, DatasetError
from .masks import check_mask_ids, read_mask, read_mask_size

__all__ = ["SemanticSegmentationDatasetMapper"]


@MAPPER_REGISTRY.register()
class SemanticSegmentationDatasetMapper:
    """
    Semantic segmentation record {"file_name", "sem_seg_file_name", ...} -> the same dict plus "image":
    a (3, H, W) uint8 tensor in INPUT.FORMAT, resized (INPUT.MIN_SIZE_*), and in training randomly cropped
    (INPUT.CROP) and flipped (INPUT.RANDOM_FLIP) together with "sem_seg": the (H, W) int64 tensor of its
    mask's class ids (MODEL.SEM_SEG_HEAD.NUM_CLASSES classes, IGNORE_VALUE on unscored pixels). "height" and
    "width" are the image's as read (checked against the record's when it has them), the size the model's
    predictions are resized back to. In testing only the mask's header is read, to check its size.
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

    @staticmethod
    def _check_mask_size(dataset_dict, mask_shape, image):
        """DatasetError unless the record's mask, of (H, W) `mask_shape`, has the size of `image` ((H, W, C))."""
        if tuple(mask_shape) != image.shape[:2]:
            raise DatasetError(f"{dataset_dict['sem_seg_file_name']}: the mask is {mask_shape[1]}x{mask_shape[0]} "
                               f"(WxH) but its image {dataset_dict['file_name']} is {image.shape[1]}x{image.shape[0]}. "
                               "Save the mask at the size of its image.")

    def _read_mask(self, dataset_dict, image):
        """The record's mask, checked against `image` ((H, W, C)) and the class ids, as a type the transforms resize."""
        file_name = dataset_dict["sem_seg_file_name"]
        mask = read_mask(file_name)
        self._check_mask_size(dataset_dict, mask.shape, image)
        check_mask_ids(mask, self.num_classes, self.ignore_label, file_name)
        # detectron2 resizes uint8 masks with PIL (nearest) and other dtypes with torch, which has no
        # integer interpolation: float32 holds ids exactly up to 2**24.
        return mask.astype(np.uint8 if 0 <= mask.min() and mask.max() <= 255 else np.float32)

    def __call__(self, dataset_dict):
        dataset_dict = copy.copy(dataset_dict)
        image = utils.read_image(dataset_dict["file_name"], format=self.image_format)
        utils.check_image_size(dataset_dict, image)
        if not self.is_train and "sem_seg_file_name" in dataset_dict:  # the evaluator reads it, at this size
            self._check_mask_size(dataset_dict, read_mask_size(dataset_dict["sem_seg_file_name"]), image)
        aug_input = T.AugInput(image, sem_seg=self._read_mask(dataset_dict, image) if self.is_train else None)
        self.augmentations(aug_input)
        dataset_dict["image"] = torch.as_tensor(np.ascontiguousarray(aug_input.image.transpose(2, 0, 1)))
        if self.is_train:
            dataset_dict["sem_seg"] = torch.as_tensor(aug_input.sem_seg.astype(np.int64))
        return dataset_dict
