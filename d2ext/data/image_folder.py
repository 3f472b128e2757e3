"""
Image files: the extensions d2ext reads, image headers, and the ImageFolder layout (as torchvision's
``ImageFolder``), which the classification and GAN datasets share::

    root/<class>/<image>.png     one sub-folder of images per class (.png .jpg .jpeg .bmp .webp)

``load_image_folder`` gives records ``{"file_name", "image_id", "label"}`` with ``label`` indexing the class
list. The records come from directory listings alone: no image is opened until a mapper reads it, which
also gives the record its "height" and "width" (detectron2's ``check_image_size``).
"""
import logging
import os

from PIL import Image

from .errors import DatasetError

__all__ = ["IMAGE_EXTENSIONS", "class_folders", "load_image_folder", "read_image_header"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def class_folders(root):
    """Sorted names of the sub-folders of `root`, hidden ones (".name") excepted: the default classes."""
    with os.scandir(root) as entries:
        return sorted(entry.name for entry in entries if not entry.name.startswith(".") and entry.is_dir())


def _image_file_names(folder):
    """
    Sorted names of the image files (IMAGE_EXTENSIONS, any case) in `folder`, hidden (".name") ones excepted,
    from one directory listing: no file is opened or, where the file system gives entry types, stat'ed.
    """
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if not entry.name.startswith(".")
                      and entry.name.lower().endswith(IMAGE_EXTENSIONS) and entry.is_file())


def _check_classes(root, folders, classes):
    if len(set(classes)) != len(classes):
        raise DatasetError(f"{root}: the class list {classes} names a class twice. List each class once.")
    undeclared = [folder for folder in folders if folder not in classes]
    if undeclared:
        raise DatasetError(
            f"{os.path.join(root, undeclared[0])}: folder '{undeclared[0]}' is not a class of the class list "
            f"{classes}, so its images have no label. Add it to the classes (CLASSES) or move it out of {root}."
        )
    missing = [name for name in classes if name not in folders]
    if missing:  # allowed: a small split may lack a class; its labels still follow the shared list
        logger.warning(f"{root}: classes {missing} of the class list have no folder, so this split has no "
                       "images of them.")


def read_image_header(path):
    """(height, width, PIL mode) from the image header, without decoding the pixels."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            return height, width, image.mode
    except OSError as e:
        raise DatasetError(f"{path}: cannot read this image ({e}). Replace or remove the file.") from e


def load_image_folder(root, classes=None):
    """
    Args:
        root (str): an ImageFolder tree ``root/<class>/<image>``; other files and hidden (".name")
            files and folders are ignored.
        classes (list[str] or None): the class names, label k = classes[k]; every sub-folder must be
            one of them. Default: the sorted sub-folder names, which are listed per split: when the
            splits of a dataset may not all hold every class, give the same `classes` to each split.
    Returns:
        list[dict]: records ``{"file_name", "image_id" ("<class>/<file>"), "label"}``, by class then file
        name, from the directory listings (no image is opened).
    """
    if not os.path.isdir(root):
        raise DatasetError(f"{root}: image folder root is not a directory. Check the ROOT path.")
    folders = class_folders(root)
    if not folders:
        raise DatasetError(f"{root}: no class folders. An image folder holds one sub-folder of images per "
                           "class: ROOT/<class>/<image>.png.")
    if classes is None:
        classes = folders
    else:
        _check_classes(root, folders, list(classes))
    records, present = [], set(folders)
    for label, class_name in enumerate(classes):
        if class_name not in present:
            continue
        folder = os.path.join(root, class_name)
        file_names = _image_file_names(folder)
        if not file_names:
            raise DatasetError(f"{folder}: the folder of class '{class_name}' holds no image "
                               f"({', '.join(IMAGE_EXTENSIONS)}). Add images or remove the folder.")
        records += [{"file_name": os.path.join(folder, file_name), "image_id": f"{class_name}/{file_name}",
                     "label": label} for file_name in file_names]
    return records
