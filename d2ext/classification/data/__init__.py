"""Classification data: the image_folder dataset type, its mapper and augmentations, the bundled datasets."""
from . import builtin  # noqa: F401  registers shapes_cls_<split> and digits_<split>
from .image_folder import register_image_folder
from .mapper import ClassificationDatasetMapper
from .transforms import RandomResizedCrop, build_classification_augmentations
