"""
COCO instances datasets with their input checked before use.

detectron2's ``load_coco_json`` trusts its input: a JSON that is not COCO fails deep inside
pycocotools, a missing image fails only when a worker reads it, and a degenerate box trains as
garbage. ``load_checked_coco_json`` checks the file first and raises ``DatasetError`` naming the
file, the field and the value. With ``skip_invalid`` (``SKIP_INVALID: true`` in a declared dataset)
invalid images and annotations are dropped instead, and listed in one warning. The file is read and
parsed once: the checks and detectron2's reader work on the same parsed copy.
"""
import json
import logging
import math
import os

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..utils.private_apis import load_parsed_coco_json
from .declared import DATASET_TYPE_REGISTRY, check_entry
from .errors import DatasetError

__all__ = ["check_coco_json", "load_checked_coco_json", "register_checked_coco_instances"]

_MAX_LISTED = 5
_MAX_SKIPPED_LISTED = 20


def _require_list(data, field, json_file):
    if not isinstance(data.get(field), list):
        raise DatasetError(
            f"{json_file}: not a COCO instances file: top-level field '{field}' is "
            f"{'missing' if field not in data else type(data[field]).__name__ + ', not a list'}. "
            "A COCO instances JSON holds the lists 'images', 'annotations' and 'categories'."
        )
    return data[field]


def _is_id(value):
    """COCO ids are integers (bool excepted)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _image_problem(image):
    """None if the COCO image entry `image` is usable, else what is wrong with it (its file is checked apart)."""
    missing = [k for k in ("id", "file_name", "height", "width") if not isinstance(image, dict) or k not in image]
    if missing:
        return f"image entry {image!r:.200} lacks field(s) {missing}."
    if not _is_id(image["id"]) or not isinstance(image["file_name"], str):
        return (f"image entry {image!r:.200}: 'id' must be an integer and 'file_name' a string (the image's path "
                "under IMAGE_ROOT).")
    for k in ("height", "width"):
        if not (isinstance(image[k], (int, float)) and image[k] > 0):
            return (f"image id={image['id']}: field '{k}' = {image[k]!r} is not a positive number. Set it to the "
                    "size of the image file in pixels.")
    return None


def _bbox_problem(bbox, ann):
    """None if `bbox` of annotation `ann` is [x, y, width, height] with a finite positive size, else the problem."""
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        return f"annotation id={ann.get('id')}: field 'bbox' = {bbox!r} is not [x, y, width, height] with 4 numbers."
    if not all(math.isfinite(v) for v in bbox) or bbox[2] <= 0 or bbox[3] <= 0:
        return (f"annotation id={ann.get('id')} (image_id={ann.get('image_id')}): field 'bbox' = {bbox!r} is "
                "degenerate (width and height must be finite and > 0). Fix or remove this annotation.")
    return None


def _annotation_problem(ann, category_ids, image_sizes):
    """None if the COCO annotation `ann` is usable with these categories and images (id -> size), else the problem."""
    if not isinstance(ann, dict):
        return f"annotation entry {ann!r:.200} is not an object."
    if not _is_id(ann.get("category_id")) or ann["category_id"] not in category_ids:
        return (f"annotation id={ann.get('id')}: field 'category_id' = {ann.get('category_id')!r} is not among the "
                f"ids in 'categories' ({sorted(category_ids)}). Fix the annotation or add the category.")
    if not _is_id(ann.get("image_id")) or ann["image_id"] not in image_sizes:
        return (f"annotation id={ann.get('id')}: field 'image_id' = {ann.get('image_id')!r} is not the id of any "
                "entry in 'images'.")
    return _bbox_problem(ann.get("bbox"), ann)


def check_coco_json(json_file, image_root, skip_invalid=False):
    """
    Check that `json_file` is a COCO instances file whose annotations and images are usable.

    Raises DatasetError on: a missing file or image root, invalid JSON, a missing top-level list, bad
    'categories', and (unless `skip_invalid`) at the first bad entry: an image without id/file_name or a
    positive height/width, an annotation whose image_id or category_id is not declared, a degenerate bbox,
    image files that do not exist under `image_root`. With `skip_invalid`, bad images (with their
    annotations) and bad annotations are dropped and listed in one warning; DatasetError if no image remains.
    Logs a warning counting the boxes that extend beyond their image (and those entirely outside it).

    Returns (data, skipped): the parsed JSON without the dropped entries, and what was dropped and why
    (list[str], empty unless `skip_invalid`).
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
    skipped_images, skipped_annotations = [], []

    def reject(problem, skipped):
        """True if `problem` (None: no problem) drops its entry, noted in `skipped`; raises unless skip_invalid."""
        if problem is None:
            return False
        if not skip_invalid:
            raise DatasetError(f"{json_file}: {problem}")
        skipped.append(problem)
        return True

    kept_images = [image for image in images if not reject(_image_problem(image), skipped_images)]
    found = [os.path.isfile(os.path.join(image_root, image["file_name"])) for image in kept_images]
    missing_files = [image["file_name"] for image, ok in zip(kept_images, found) if not ok]
    if skip_invalid:  # otherwise the missing files are reported together, after the annotations
        kept_images = [image for image, ok in zip(kept_images, found) if ok or not reject(
            f"image id={image['id']}: file '{image['file_name']}' does not exist under {image_root}.", skipped_images)]
    if images and not kept_images:
        raise DatasetError(f"{json_file}: no usable image remains: all {len(images)} images are invalid and "
                           f"SKIP_INVALID is on, e.g. {skipped_images[:_MAX_LISTED]}.")
    image_sizes = {image["id"]: (image["width"], image["height"]) for image in kept_images}
    skipped_image_ids = {image["id"] for image in images
                         if isinstance(image, dict) and _is_id(image.get("id")) and image["id"] not in image_sizes}

    kept_annotations, num_with_image = [], 0  # annotations kept; those dropped with their image
    num_outside, num_entirely_outside, examples = 0, 0, []
    for ann in annotations:
        if isinstance(ann, dict) and _is_id(ann.get("image_id")) and ann["image_id"] in skipped_image_ids:
            num_with_image += 1
            continue
        if reject(_annotation_problem(ann, category_ids, image_sizes), skipped_annotations):
            continue
        kept_annotations.append(ann)
        x, y, w, h = ann["bbox"]
        width, height = image_sizes[ann["image_id"]]
        if x < 0 or y < 0 or x + w > width or y + h > height:
            num_outside += 1
            num_entirely_outside += x >= width or y >= height or x + w <= 0 or y + h <= 0
            if len(examples) < _MAX_LISTED:
                examples.append(f"id={ann.get('id')} bbox={ann['bbox']} in a {width}x{height} image")

    if missing_files and not skip_invalid:
        raise DatasetError(
            f"{json_file}: {len(missing_files)} of {len(images)} images named in field 'file_name' do not exist "
            f"under {image_root}, e.g. {missing_files[:_MAX_LISTED]}. Check IMAGE_ROOT or the file names."
        )
    skipped = skipped_images + skipped_annotations
    if skipped:
        listed = "; ".join(skipped[:_MAX_SKIPPED_LISTED])
        more = f"; and {len(skipped) - _MAX_SKIPPED_LISTED} more" if len(skipped) > _MAX_SKIPPED_LISTED else ""
        logging.getLogger(__name__).warning(
            f"{json_file}: SKIP_INVALID is on: skipped {len(skipped_images)} of {len(images)} images and "
            f"{len(skipped_annotations) + num_with_image} of {len(annotations)} annotations ({num_with_image} of "
            f"them with their image): {listed}{more}"
        )
    if num_outside:
        logging.getLogger(__name__).warning(
            f"{json_file}: {num_outside} of {len(kept_annotations)} annotation boxes extend beyond the declared "
            f"width/height of their image, {num_entirely_outside} of them entirely outside it, e.g. "
            f"{'; '.join(examples)}. During training boxes are clipped to the image, and those entirely outside "
            "are dropped."
        )
    return {**data, "images": kept_images, "annotations": kept_annotations}, skipped


def load_checked_coco_json(json_file, image_root, dataset_name, skip_invalid=False):
    """
    ``check_coco_json``, then detectron2's ``load_coco_json`` on what it kept: list[dict] in detectron2's
    format. `json_file` is read once: detectron2's reader is given the checked copy.
    """
    data, _ = check_coco_json(json_file, image_root, skip_invalid)
    try:
        return load_parsed_coco_json(data, json_file, image_root, dataset_name)
    except (KeyError, TypeError, ValueError, AssertionError, AttributeError, IndexError) as e:
        # A field check_coco_json does not cover (segmentation, keypoints, duplicate ids, ...).
        raise DatasetError(f"{json_file}: detectron2's COCO reader fails on it ({type(e).__name__}: {e}). Check the "
                           "annotations' fields against the COCO format (ids unique, 'segmentation' polygons or RLE).") from e


def register_checked_coco_instances(name, metadata, json_file, image_root, skip_invalid=False):
    """
    Like detectron2's ``register_coco_instances``, with the input checked when first loaded (see
    ``check_coco_json`` for `skip_invalid`). With `skip_invalid` the metadata has no ``json_file``, so that
    COCOEvaluator takes its ground truth from the kept records rather than from the unfiltered file.
    """
    DatasetCatalog.register(name, lambda: load_checked_coco_json(json_file, image_root, name, skip_invalid))
    files = {"image_root": image_root} if skip_invalid else {"json_file": json_file, "image_root": image_root}
    MetadataCatalog.get(name).set(**files, **{"evaluator_type": "coco", **metadata})


@DATASET_TYPE_REGISTRY.register()
def coco(name, entry):
    """
    DATASETS.REGISTER type "coco": JSON_FILE, IMAGE_ROOT, optional EVALUATOR_TYPE (default "coco") and
    SKIP_INVALID (default false: stop at the first invalid image or annotation; true: drop them with a warning).
    """
    values = check_entry(name, entry, required=("JSON_FILE", "IMAGE_ROOT"), optional=("EVALUATOR_TYPE", "SKIP_INVALID"))
    skip_invalid = values.get("SKIP_INVALID", False)
    if not isinstance(skip_invalid, bool):
        raise DatasetError(f"DATASETS.REGISTER.{name}.SKIP_INVALID = {skip_invalid!r} is not a boolean; use true or "
                           "false.")
    metadata = {"evaluator_type": values["EVALUATOR_TYPE"]} if "EVALUATOR_TYPE" in values else {}
    register_checked_coco_instances(name, metadata, values["JSON_FILE"], values["IMAGE_ROOT"], skip_invalid)
