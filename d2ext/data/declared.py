"""
Datasets declared in the config file (``DATASETS.REGISTER``) and registered in every process.

Example::

    DATASETS:
      REGISTER:
        my_train: {TYPE: coco, JSON_FILE: data/train.json, IMAGE_ROOT: data/train}
      TRAIN: ("my_train",)

``TYPE`` names a function in ``DATASET_TYPE_REGISTRY`` that registers one dataset from its entry;
each task adds its own types there.
"""
import os

from detectron2.data import DatasetCatalog
from detectron2.utils.registry import Registry

from .errors import DatasetError

__all__ = ["DATASET_TYPE_REGISTRY", "register_declared_datasets", "check_entry"]

DATASET_TYPE_REGISTRY = Registry("D2EXT_DATASET_TYPE")
DATASET_TYPE_REGISTRY.__doc__ = """
Dataset types for DATASETS.REGISTER. A registered function ``fn(name, entry)`` registers the dataset
`name` in DatasetCatalog/MetadataCatalog from its config entry (a CfgNode of upper-case keys).
"""

_declared = {}  # name -> entry registered by this process, so that re-registering is idempotent


def check_entry(name, entry, required, optional=()):
    """
    Check that `entry` has every key in `required` and nothing outside `required` + `optional`
    (besides TYPE). Returns {key: value} with path values (keys ending in _FILE/_ROOT/_DIR) made absolute.
    """
    field = f"DATASETS.REGISTER.{name}"
    unknown = set(entry) - set(required) - set(optional) - {"TYPE"}
    missing = [k for k in required if k not in entry]
    if unknown or missing:
        raise DatasetError(
            f"{field} (TYPE {entry.TYPE}): "
            + (f"missing key(s) {missing}; " if missing else "")
            + (f"unknown key(s) {sorted(unknown)}; " if unknown else "")
            + f"expected {list(required)}" + (f" and optionally {list(optional)}" if optional else "") + "."
        )
    return {k: os.path.abspath(v) if k.endswith(("_FILE", "_ROOT", "_DIR")) else v
            for k, v in entry.items() if k != "TYPE"}


def register_declared_datasets(cfg):
    """Register every dataset of ``cfg.DATASETS.REGISTER``; safe to call again with the same config."""
    for name, entry in cfg.DATASETS.REGISTER.items():
        if _declared.get(name) == entry:
            continue
        if name in DatasetCatalog.list():
            raise DatasetError(f"DATASETS.REGISTER.{name}: a dataset named '{name}' is already registered "
                               "(built in or declared differently). Choose another name.")
        dataset_type = entry.get("TYPE") if hasattr(entry, "get") else None
        if dataset_type not in DATASET_TYPE_REGISTRY:
            raise DatasetError(f"DATASETS.REGISTER.{name}.TYPE = {dataset_type!r} is not a known dataset type; "
                               f"choose one of {sorted(k for k, _ in DATASET_TYPE_REGISTRY)}.")
        DATASET_TYPE_REGISTRY.get(dataset_type)(name, entry)
        _declared[name] = entry.clone()
