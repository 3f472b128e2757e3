"""The dataset mapper of SSD: its augmentations see the boxes."""
import copy

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.structures import BoxMode

from ...data import MAPPER_REGISTRY
from .transforms import build_ssd_augmentations

__all__ = ["SSDDatasetMapper"]


@MAPPER_REGISTRY.register()
class SSDDatasetMapper:
    """
    Detection record -> detectron2's model input with SSD's augmentations (build_ssd_augmentations): "image",
    a (3, S, S) uint8 tensor in INPUT.FORMAT (S = MODEL.SSD.IMAGE_SIZE), and in training "instances" (gt_boxes,
    gt_classes; maybe empty). The non-crowd boxes go into the AugInput, so that the IoU-constrained crop sees
    them; an annotation whose box centre falls outside the augmented image is dropped, as in the SSD paper.
    """

    @configurable
    def __init__(self, *, augmentations, image_format, is_train):
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.is_train = is_train

    @classmethod
    def from_config(cls, cfg, is_train=True):
        return {"augmentations": build_ssd_augmentations(cfg, is_train), "image_format": cfg.INPUT.FORMAT,
                "is_train": is_train}

    def __call__(self, dataset_dict):
        dataset_dict = copy.deepcopy(dataset_dict)  # modified below
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
        kept = [utils.transform_instance_annotations({k: v for k, v in obj.items() if k not in ("segmentation", "keypoints")},
                                                     transforms, image_shape)
                for obj, keep in zip(annotations, inside) if keep]
        dataset_dict["instances"] = utils.filter_empty_instances(utils.annotations_to_instances(kept, image_shape))
        return dataset_dict
