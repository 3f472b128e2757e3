"""
COCO instances datasets with their input checked before use.

detectron2's ``load_coco_json`` trusts its input: a JSON that is not COCO fails deep inside
pycocotools, a missing image fails only when a worker reads it, and a degenerate box trains as
garbage. ``load_checked_coco_json`` checks the file first and raises ``DatasetError`` naming the
file, the field and the value.
"""
import json
import logging
import math
import os

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.datasets import load_coco_json

from .declared import DATASET_TYPE_REGISTRY, check_entry
from .errors import DatasetError

__all__ = ["check_coco_json", "load_checked_coco_json", "register_checked_coco_instances"]

_MAX_LISTED = 5


def _require_list(data, field, json_file):
    if not isinstance(data.get(field), list):
        raise DatasetError(
            f"{json_file}: not a COCO instances file: top-level field '{field}' is "
            f"{'missing' if field not in data else type(data[field]).__name__ + ', not a list'}. "
            "A COCO instances JSON holds the lists 'images', 'annotations' and 'categories'."
        )
    return data[field]


def _check_bbox(bbox, ann, json_file):
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        raise DatasetError(f"{json_file}: annotation id={ann.get('id')}: field 'bbox' = {bbox!r} is not "
                           "[x, y, width, height] with 4 numbers.")
    if not all(math.isfinite(v) for v in bbox) or bbox[2] <= 0 or bbox[3] <= 0:
        raise DatasetError(f"{json_file}: annotation id={ann.get('id')} (image_id={ann.get('image_id')}): "
                           f"field 'bbox' = {bbox!r} is degenerate (width and height must be finite and > 0). "
                           "Fix or remove this annotation.")


def _is_id(value):
    """COCO ids are integers (bool excepted)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_coco_json(json_file, image_root):
    """
    Check that `json_file` is a COCO instances file whose annotations and images are usable.

    Raises DatasetError on: a missing file or image root, invalid JSON, a missing top-level list,
    an image without id/file_name or a positive height/width, an annotation whose image_id or
    category_id is not declared, a degenerate bbox, image files that do not exist under `image_root`.
    Logs a warning counting the boxes that extend beyond their image (and those entirely outside it).
    """
    if not os.path.isfile(json_file):
        raise DatasetError(f"{json_file}: annotation file does not exist. Check the JSON_FILE path.")
    if not os.path.isdir(image_root):
        raise DatasetError(f"{image_root}: image root is not a directory. Check the IMAGE_ROOT path.")
    try:
        with open(json_file) as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{json_file}: not valid JSON ({e}).") from e
    if not isinstance(data, dict):
        raise DatasetError(f"{json_file}: not a COCO instances file: the top level is a "
                           f"{type(data).__name__}, not an object with 'images', 'annotations', 'categories'.")
    images = _require_list(data, "images", json_file)
    annotations = _require_list(data, "annotations", json_file)
    categories = _require_list(data, "categories", json_file)

    if not categories or not all(isinstance(c, dict) and _is_id(c.get("id")) for c in categories):
        raise DatasetError(f"{json_file}: field 'categories' must be a non-empty list of objects with an integer "
                           "'id' and a 'name'.")
    category_ids = {c["id"] for c in categories}
    image_sizes = {}  # image id -> (width, height)
    for image in images:
        missing = [k for k in ("id", "file_name", "height", "width") if not isinstance(image, dict) or k not in image]
        if missing:
            raise DatasetError(f"{json_file}: image entry {image!r:.200} lacks field(s) {missing}.")
        if not _is_id(image["id"]) or not isinstance(image["file_name"], str):
            raise DatasetError(f"{json_file}: image entry {image!r:.200}: 'id' must be an integer and 'file_name' a "
                               "string (the image's path under IMAGE_ROOT).")
        for k in ("height", "width"):
            if not (isinstance(image[k], (int, float)) and image[k] > 0):
                raise DatasetError(f"{json_file}: image id={image['id']}: field '{k}' = {image[k]!r} is not a "
                                   "positive number. Set it to the size of the image file in pixels.")
        image_sizes[image["id"]] = (image["width"], image["height"])
    num_outside, num_entirely_outside, examples = 0, 0, []
    for ann in annotations:
        if not isinstance(ann, dict):
            raise DatasetError(f"{json_file}: annotation entry {ann!r:.200} is not an object.")
        if not _is_id(ann.get("category_id")) or ann["category_id"] not in category_ids:
            raise DatasetError(
                f"{json_file}: annotation id={ann.get('id')}: field 'category_id' = {ann.get('category_id')!r} "
                f"is not among the ids in 'categories' ({sorted(category_ids)}). Fix the annotation or add the category."
            )
        if not _is_id(ann.get("image_id")) or ann["image_id"] not in image_sizes:
            raise DatasetError(f"{json_file}: annotation id={ann.get('id')}: field 'image_id' = "
                               f"{ann.get('image_id')!r} is not the id of any entry in 'images'.")
        _check_bbox(ann.get("bbox"), ann, json_file)
        x, y, w, h = ann["bbox"]
        width, height = image_sizes[ann["image_id"]]
        if x < 0 or y < 0 or x + w > width or y + h > height:
            num_outside += 1
            num_entirely_outside += x >= width or y >= height or x + w <= 0 or y + h <= 0
            if len(examples) < _MAX_LISTED:
                examples.append(f"id={ann.get('id')} bbox={ann['bbox']} in a {width}x{height} image")

    missing_files = [im["file_name"] for im in images
                     if not os.path.isfile(os.path.join(image_root, im["file_name"]))]
    if missing_files:
        raise DatasetError(
            f"{json_file}: {len(missing_files)} of {len(images)} images named in field 'file_name' do not exist "
            f"under {image_root}, e.g. {missing_files[:_MAX_LISTED]}. Check IMAGE_ROOT or the file names."
        )
    if num_outside:
        logging.getLogger(__name__).warning(
            f"{json_file}: {num_outside} of {len(annotations)} annotation boxes extend beyond the declared "
            f"width/height of their image, {num_entirely_outside} of them entirely outside it, e.g. "
            f"{'; '.join(examples)}. During training boxes are clipped to the image, and those entirely outside "
            "are dropped."
        )


def load_checked_coco_json(json_file, image_root, dataset_name):
    """``check_coco_json``, then detectron2's ``load_coco_json``: list[dict] in detectron2's format."""
    check_coco_json(json_file, image_root)
    try:
        return load_coco_json(json_file, image_root, dataset_name)
    except (KeyError, TypeError, ValueError, AssertionError, AttributeError, IndexError) as e:
        # A field check_coco_json does not cover (segmentation, keypoints, duplicate ids, ...).
        raise DatasetError(f"{json_file}: detectron2's COCO reader fails on it ({type(e).__name__}: {e}). Check the "
                           "annotations' fields against the COCO format (ids unique, 'segmentation' polygons or RLE).") from e


def register_checked_coco_instances(name, metadata, json_file, image_root):
    """Like detectron2's ``register_coco_instances``, with the input checked when first loaded."""
    DatasetCatalog.register(name, lambda: load_checked_coco_json(json_file, image_root, name))
    MetadataCatalog.get(name).set(json_file=json_file, image_root=image_root, **{"evaluator_type": "coco", **metadata})


@DATASET_TYPE_REGISTRY.register()
def coco(name, entry):
    """DATASETS.REGISTER type "coco": JSON_FILE, IMAGE_ROOT, optional EVALUATOR_TYPE (default "coco")."""
    values = check_entry(name, entry, required=("JSON_FILE", "IMAGE_ROOT"), optional=("EVALUATOR_TYPE",))
    metadata = {"evaluator_type": values["EVALUATOR_TYPE"]} if "EVALUATOR_TYPE" in values else {}
    register_checked_coco_instances(name, metadata, values["JSON_FILE"], values["IMAGE_ROOT"])
