"""
The bundled semantic segmentation datasets, registered on import under datasets_root(): ``shapes_sem_seg_<split>``,
the images and ``sem_seg/`` masks of the same shapes split folders as ``shapes_<split>`` (see sem_seg_folder).
"""
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ...data import datasets_root
from ...data.shapes import SHAPES_SEM_SEG_METADATA, SHAPES_SPLITS, ensure_split
from .sem_seg_folder import load_sem_seg_folder

__all__ = ["register_shapes_sem_seg"]


def _load_split(split_dir, spec):
    ensure_split(split_dir, spec)
    return load_sem_seg_folder(os.path.join(split_dir, "images"), os.path.join(split_dir, "sem_seg"))


def register_shapes_sem_seg(root):
    """Register ``shapes_sem_seg_<split>`` for every split in SHAPES_SPLITS, generated under `root`/shapes."""
    for split, spec in SHAPES_SPLITS.items():
        name = f"shapes_sem_seg_{split}"
        split_dir = os.path.join(root, "shapes", split)
        DatasetCatalog.register(name, lambda d=split_dir, s=spec: _load_split(d, s))
        MetadataCatalog.get(name).set(
            **SHAPES_SEM_SEG_METADATA,
            image_root=os.path.join(split_dir, "images"),
            sem_seg_root=os.path.join(split_dir, "sem_seg"),
            evaluator_type="sem_seg",
        )


register_shapes_sem_seg(datasets_root())
