"""
Semantic segmentation datasets as a folder of images and a parallel folder of masks::

    IMAGE_ROOT/<path>/<name>.jpg     images (.png .jpg .jpeg .bmp .webp), in sub-folders or not
    MASK_ROOT/<path>/<name>.png      the mask of each: class ids 0..K-1, the ignore label (255) on unscored pixels

as Pascal VOC's JPEGImages/ and SegmentationClass/ (palette PNGs whose indices are the ids), optionally
restricted to the images of a list file (VOC's ImageSets/Segmentation/train.txt). Records are
``{"file_name", "sem_seg_file_name", "image_id"}``, from the listings of the two folders: no image or mask is
opened until the mapper reads them (and gives the record the image's "height" and "width"), which is when a
mask of another size than its image, or a colour mask, is refused. The metadata has ``stuff_classes``,
``stuff_colors``, ``ignore_label`` and ``evaluator_type`` "sem_seg".
"""
import colorsys
import logging
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ...data import DATASET_TYPE_REGISTRY, DatasetError, check_entry
from ...data.image_folder import IMAGE_EXTENSIONS

__all__ = ["distinct_colors", "load_sem_seg_folder", "register_sem_seg_folder"]

logger = logging.getLogger(__name__)

_GOLDEN_RATIO_CONJUGATE = 0.618033988749895
_SHOWN_ENTRIES = 5  # how many bad list entries an error names


def distinct_colors(num_colors):
    """`num_colors` RGB colours ([r, g, b], 0..255), the same every time: hues spaced by the golden ratio."""
    return [[round(255 * c) for c in colorsys.hsv_to_rgb(k * _GOLDEN_RATIO_CONJUGATE % 1, 0.75, 0.95 - 0.2 * (k % 2))]
            for k in range(num_colors)]


def _relative_files(root):
    """Paths relative to `root` of the files under it, hidden (".name") files and folders skipped."""
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in names:
            if not name.startswith("."):
                yield os.path.relpath(os.path.join(folder, name), root)


def _images_by_stem(image_root):
    """{relative path without extension: image path} of the images under `image_root`."""
    images = {}
    for relative in _relative_files(image_root):
        if relative.lower().endswith(IMAGE_EXTENSIONS):
            stem, path = os.path.splitext(relative)[0], os.path.join(image_root, relative)
            if stem in images:
                raise DatasetError(f"{path}: {images[stem]} has the same name but for the extension, so they would "
                                   "share one mask. Rename or remove one of them.")
            images[stem] = path
    return images


def _listed_stems(image_list_file, images, image_root):
    """The entries of `image_list_file` (one image path without extension a line), each checked to be in `images`."""
    try:
        with open(image_list_file) as f:
            stems = {os.path.normpath(line.strip()) for line in f if line.strip()}
    except OSError as e:
        raise DatasetError(f"{image_list_file}: cannot read this image list ({e}). Check IMAGE_LIST_FILE.") from e
    missing = sorted(stems - set(images))
    if missing:
        raise DatasetError(
            f"{image_list_file}: entries {missing[:_SHOWN_ENTRIES]}{' ...' if len(missing) > _SHOWN_ENTRIES else ''} "
            f"have no image in {image_root} (entries are image paths relative to it, without extension). "
            "Add the images or remove the entries."
        )
    return stems


def _record(stem, image, masks, mask_root, mask_ext, image_list_file):
    """The record of `image` (`stem` its path without extension); `masks`: the paths relative to `mask_root`."""
    mask = os.path.join(mask_root, stem + mask_ext)
    if stem + mask_ext not in masks and not os.path.isfile(mask):  # the walk does not enter linked folders
        raise DatasetError(f"{image}: no mask {mask} for this image. Add the mask, or remove the image"
                           + (f" or its entry '{stem}' of {image_list_file}." if image_list_file else "."))
    return {"file_name": image, "sem_seg_file_name": mask, "image_id": stem}


def load_sem_seg_folder(image_root, mask_root, image_list_file=None, mask_ext=".png"):
    """
    Args:
        image_root (str): images, in sub-folders or not; hidden (".name") files and folders are ignored.
        mask_root (str): the mask of IMAGE_ROOT/<path>.<image ext> is MASK_ROOT/<path><mask_ext>; masks
            without an image are ignored (with a warning).
        image_list_file (str or None): only the images listed there, one path relative to `image_root`
            without extension a line. Default: every image.
    Returns:
        list[dict]: records ``{"file_name", "sem_seg_file_name", "image_id" ("<path>")}`` by file name, from
        the folders' listings (no file is opened).
    """
    for root, key in ((image_root, "IMAGE_ROOT"), (mask_root, "MASK_ROOT")):
        if not os.path.isdir(root):
            raise DatasetError(f"{root}: not a directory. Check the {key} path.")
    images = _images_by_stem(image_root)
    if not images:
        raise DatasetError(f"{image_root}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder or its "
                           "sub-folders. Check the IMAGE_ROOT path.")
    masks = {relative for relative in _relative_files(mask_root) if relative.endswith(mask_ext)}
    orphans = sum(1 for relative in masks if relative[: -len(mask_ext)] not in images)
    if orphans:
        logger.warning(f"{mask_root}: {orphans} mask(s) have no image in {image_root}; they are ignored.")
    stems = images if image_list_file is None else _listed_stems(image_list_file, images, image_root)
    return [_record(stem, images[stem], masks, mask_root, mask_ext, image_list_file)
            for stem in sorted(stems, key=images.get)]


def register_sem_seg_folder(name, image_root, mask_root, classes, colors=None, ignore_label=255, image_list_file=None,
                            metadata=None):
    """
    Register the images of `image_root` and their masks in `mask_root` (see load_sem_seg_folder) as dataset
    `name`, loaded on ``DatasetCatalog.get(name)``. Class id k is ``classes[k]``, drawn in ``colors[k]``
    (RGB; default distinct_colors); mask pixels equal to `ignore_label` are not scored. `metadata` (dict)
    adds to or overrides the metadata.
    """
    image_root, mask_root = os.path.abspath(image_root), os.path.abspath(mask_root)
    image_list_file = image_list_file and os.path.abspath(image_list_file)
    DatasetCatalog.register(name, lambda: load_sem_seg_folder(image_root, mask_root, image_list_file))
    MetadataCatalog.get(name).set(**{
        "stuff_classes": list(classes),
        "stuff_colors": distinct_colors(len(classes)) if colors is None else [list(c) for c in colors],
        "ignore_label": ignore_label,
        "evaluator_type": "sem_seg",
        "image_root": image_root,
        "sem_seg_root": mask_root,
        **(metadata or {}),
    })


def _is_rgb(color):
    return (isinstance(color, (list, tuple)) and len(color) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in color))


@DATASET_TYPE_REGISTRY.register()
def sem_seg_folder(name, entry):
    """
    DATASETS.REGISTER type "sem_seg_folder": IMAGE_ROOT, MASK_ROOT (IMAGE_ROOT/<path>.jpg <-> MASK_ROOT/<path>.png),
    CLASSES (class id k = CLASSES[k]); optional COLORS ([R, G, B] per class), IGNORE_LABEL (default 255) and
    IMAGE_LIST_FILE (the split's images, one path without extension a line).
    """
    values = check_entry(name, entry, required=("IMAGE_ROOT", "MASK_ROOT", "CLASSES"),
                         optional=("COLORS", "IGNORE_LABEL", "IMAGE_LIST_FILE"))
    field = f"DATASETS.REGISTER.{name}"
    classes, colors, ignore_label = values["CLASSES"], values.get("COLORS"), values.get("IGNORE_LABEL", 255)
    if not (isinstance(classes, (list, tuple)) and classes and all(isinstance(c, str) for c in classes)):
        raise DatasetError(f"{field}.CLASSES = {classes!r} is not a list of class names. Write it as "
                           "[name, name, ...], class id k being the k-th name; quote names YAML reads as numbers.")
    if colors is not None and not (isinstance(colors, (list, tuple)) and len(colors) == len(classes)
                                   and all(_is_rgb(c) for c in colors)):
        raise DatasetError(f"{field}.COLORS = {colors!r}: give one [R, G, B] colour (0..255) per class of CLASSES, "
                           f"{len(classes)} in all, or leave COLORS out for distinct default colours.")
    if not isinstance(ignore_label, int) or isinstance(ignore_label, bool):
        raise DatasetError(f"{field}.IGNORE_LABEL = {ignore_label!r} is not an integer. Set it to the mask id of "
                           "the pixels that are not scored (255 in most datasets).")
    register_sem_seg_folder(name, values["IMAGE_ROOT"], values["MASK_ROOT"], classes, colors, ignore_label,
                            values.get("IMAGE_LIST_FILE"))
