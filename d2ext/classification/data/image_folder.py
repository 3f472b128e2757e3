"""
Classification datasets in the ImageFolder layout (``root/<class>/<image>``, d2ext.data.load_image_folder):
records ``{"file_name", "image_id", "label"}``, listed without opening an image, with ``label`` indexing the
metadata's ``thing_classes``; the metadata's ``evaluator_type`` is "classification".
"""
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ...data import DATASET_TYPE_REGISTRY, DatasetError, check_entry
from ...data.image_folder import class_folders, load_image_folder

__all__ = ["register_image_folder"]


def _load_registered(name, root, classes):
    records = load_image_folder(root, classes)
    if classes is None:  # `root` did not exist at registration: its classes are known only now
        MetadataCatalog.get(name).set(thing_classes=class_folders(root))
    return records


def register_image_folder(name, root, classes=None, metadata=None):
    """
    Register the image folder `root` as dataset `name`, loaded on ``DatasetCatalog.get(name)``.
    ``thing_classes`` are `classes`, else the sub-folders of `root` at registration, else (when `root`
    does not exist yet) those at loading. `metadata` (dict) adds to or overrides the metadata.
    """
    root = os.path.abspath(root)
    if classes is None and os.path.isdir(root):
        classes = class_folders(root)
    DatasetCatalog.register(name, lambda: _load_registered(name, root, classes))
    MetadataCatalog.get(name).set(image_root=root, **{"evaluator_type": "classification", **(metadata or {})})
    if classes is not None:
        MetadataCatalog.get(name).set(thing_classes=list(classes))


@DATASET_TYPE_REGISTRY.register()
def image_folder(name, entry):
    """
    DATASETS.REGISTER type "image_folder": ROOT (ROOT/<class>/<image>), optional CLASSES (class names,
    label k = CLASSES[k]). Without CLASSES each split lists its own sub-folders, so a train and a test
    split whose folders differ get different labels: declare the same CLASSES in both to avoid that.
    """
    values = check_entry(name, entry, required=("ROOT",), optional=("CLASSES",))
    classes = values.get("CLASSES")
    if classes is not None and not isinstance(classes, (list, tuple)):
        raise DatasetError(f"DATASETS.REGISTER.{name}.CLASSES = {classes!r} is not a list; write it as "
                           "[name, name, ...].")
    # YAML reads [0, 1] as numbers; folder names are strings.
    register_image_folder(name, values["ROOT"], classes=None if classes is None else [str(c) for c in classes])
