"""Dataset mappers, chosen by ``cfg.INPUT.DATASET_MAPPER`` from ``MAPPER_REGISTRY``."""
from detectron2.data import DatasetMapper as _Detectron2DatasetMapper
from fvcore.common.registry import Registry

from .datasets.errors import DatasetError

__all__ = ["MAPPER_REGISTRY", "DatasetMapper", "build_mapper"]

MAPPER_REGISTRY = Registry("D2EXT_MAPPER")
MAPPER_REGISTRY.__doc__ = """
Dataset mappers: classes built as ``cls(cfg, is_train)`` (detectron2's @configurable convention)
that turn one dataset dict into the model's input dict.
"""


@MAPPER_REGISTRY.register()
class DatasetMapper(_Detectron2DatasetMapper):
    """detectron2's DatasetMapper; an image that cannot be read raises DatasetError naming the file."""

    def __call__(self, dataset_dict):
        try:
            return super().__call__(dataset_dict)
        except OSError as e:  # PIL: missing, unidentifiable or truncated image file
            raise DatasetError(f"{dataset_dict.get('file_name')}: cannot read this image ({e}). "
                               "Replace the file or remove its entry from the dataset.") from e


def build_mapper(cfg, is_train):
    """The mapper named by ``cfg.INPUT.DATASET_MAPPER``."""
    return MAPPER_REGISTRY.get(cfg.INPUT.DATASET_MAPPER)(cfg, is_train)
