"""
d2ext's core data: datasets declared in configs (DATASETS.REGISTER and its type registry), COCO input checks,
the bundled generators (shapes, digits), shared transforms and the mapper registry. Importing this registers
``shapes_<split>`` (COCO instances of the generated shapes scenes, under datasets_root()); each task registers
its own views of the bundled data.
"""
from .coco import check_coco_json, load_checked_coco_json, register_checked_coco_instances
from .declared import DATASET_TYPE_REGISTRY, check_entry, register_declared_datasets
from .errors import DatasetError
from .generated import datasets_root
from .mappers import MAPPER_REGISTRY, ImageRecordMapper, UnreadableRecords, build_mapper
from .shapes import SHAPES_CLASSES, ShapesSplitSpec, ensure_split, generate_split, register_shapes

register_shapes(datasets_root())
