"""
Dataset families. Importing this registers the built-in datasets: ``shapes_*``, ``shapes_sem_seg_*``,
``shapes_cls_*`` and ``digits_*``, generated on first use under ``datasets_root()``.
"""
import os

from .coco import check_coco_json, load_checked_coco_json, register_checked_coco_instances
from .declared import DATASET_TYPE_REGISTRY, register_declared_datasets
from .digits import DIGITS_CLASSES, ensure_digits, register_digits
from .errors import DatasetError
from .generated import ensure_generated, generate, is_complete
from .image_folder import load_image_folder, register_image_folder
from .sem_seg_folder import distinct_colors, load_sem_seg_folder, register_sem_seg_folder
from .shapes import (SHAPES_CLASSES, SHAPES_SPLITS, ShapesSplitSpec, ensure_split, generate_split, register_shapes,
                     register_shapes_sem_seg)
from .shapes_cls import SHAPES_CLS_SPLITS, register_shapes_cls


def datasets_root():
    """Where bundled datasets are generated: ``$D2EXT_DATASETS``, default ``./datasets``."""
    return os.path.abspath(os.environ.get("D2EXT_DATASETS", "datasets"))


register_shapes(datasets_root())
register_shapes_sem_seg(datasets_root())
register_shapes_cls(datasets_root())
register_digits(datasets_root())
