from . import datasets  # noqa: F401  registers the built-in datasets
from .datasets import DATASET_TYPE_REGISTRY, DatasetError, register_declared_datasets
from .mappers import MAPPER_REGISTRY, build_mapper
