"""
Dataset families. Importing this registers the built-in datasets: ``shapes_*``, ``shapes_sem_seg_*``,
``shapes_cls_*``, ``shapes_filled2outlined_*``, ``digits_*`` and ``digits_gan_*``, generated on first use
under ``datasets_root()``.
"""
import os

from .coco import check_coco_json, load_checked_coco_json, register_checked_coco_instances
from .declared import DATASET_TYPE_REGISTRY, register_declared_datasets
from .digits import DIGITS_CLASSES, ensure_digits, register_digits, register_digits_gan
from .errors import DatasetError
from .generated import ensure_generated, generate, is_complete
from .image_files import (count_image_channels, load_image_files, load_unpaired, log_channel_conversions,
                          register_image_files, register_unpaired, unpaired_metadata)
from .image_folder import load_image_folder, register_image_folder
from .sem_seg_folder import distinct_colors, load_sem_seg_folder, register_sem_seg_folder
from .shapes import (SHAPES_CLASSES, SHAPES_SPLITS, ShapesSplitSpec, ensure_split, generate_split, register_shapes,
                     register_shapes_sem_seg)
from .shapes_cls import SHAPES_CLS_SPLITS, register_shapes_cls
from .shapes_gan import SHAPES_GAN_SPLITS, load_shapes_unpaired, register_shapes_gan, shapes_gan_spec


def datasets_root():
    """Where bundled datasets are generated: ``$D2EXT_DATASETS``, default ``./datasets``."""
    return os.path.abspath(os.environ.get("D2EXT_DATASETS", "datasets"))


register_shapes(datasets_root())
register_shapes_sem_seg(datasets_root())
register_shapes_cls(datasets_root())
register_shapes_gan(datasets_root())
register_digits(datasets_root())
register_digits_gan(datasets_root())
