"""Dataset families. Importing this registers the built-in ``shapes_*`` datasets."""
import os

from .coco import check_coco_json, load_checked_coco_json, register_checked_coco_instances
from .declared import DATASET_TYPE_REGISTRY, register_declared_datasets
from .errors import DatasetError
from .shapes import SHAPES_CLASSES, SHAPES_SPLITS, ShapesSplitSpec, ensure_split, generate_split, register_shapes


def datasets_root():
    """Where bundled datasets are generated: ``$D2EXT_DATASETS``, default ``./datasets``."""
    return os.path.abspath(os.environ.get("D2EXT_DATASETS", "datasets"))


register_shapes(datasets_root())
