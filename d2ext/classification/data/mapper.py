"""The dataset mapper of image classification."""
from ...data import MAPPER_REGISTRY, ImageRecordMapper
from .transforms import build_classification_augmentations

__all__ = ["ClassificationDatasetMapper"]


@MAPPER_REGISTRY.register()
class ClassificationDatasetMapper(ImageRecordMapper):
    """
    Classification record {"file_name", "label", ...} -> the same dict plus "image": a (3, S, S) uint8 tensor
    in INPUT.FORMAT, S = INPUT.CLS.CROP_SIZE, after the INPUT.CLS augmentations (build_classification_augmentations).
    """

    @classmethod
    def from_config(cls, cfg, is_train=True):
        return {"augmentations": build_classification_augmentations(cfg, is_train), "image_format": cfg.INPUT.FORMAT}
