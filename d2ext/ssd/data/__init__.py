"""SSD's data: its augmentations and the mapper that runs them on images and boxes together."""
from .mapper import SSDDatasetMapper
from .transforms import (ExpandTransform, IoUConstrainedCrop, PhotometricDistortion, RandomExpand,
                         build_ssd_augmentations, distort_colors)
