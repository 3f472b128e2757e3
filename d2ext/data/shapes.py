"""
``shapes``: a seeded, deterministic generator of synthetic scenes, the bundled dataset of every task.

Each scene holds 1..``max_objects`` shapes (circle, square, triangle) of random size, colour,
position and rotation on a textured, noisy background. Shapes may overlap: a later shape occludes
earlier ones, and each instance's mask is its *visible* pixels (placements that would hide more than
half of an earlier shape are redrawn). One split directory holds::

    images/000000.png        RGB scene
    sem_seg/000000.png       uint8 class ids, 0 = background, k = SHAPES_CLASSES[k - 1]
    instances.json           COCO instances: visible bbox, RLE segmentation, area
    manifest.json            the split spec and every file's size; written last = split complete

The same (seed, index) always gives the same scene; ``style="outlined"`` draws the same layout with
outlines instead of fills, which gives the GAN tasks a second domain. Image-only folders are
``images/``; per-image labels are the categories of its annotations. ``shapes_<split>`` reads a
split as COCO instances; the tasks register their own views of the splits (``shapes_sem_seg_<split>``,
``shapes_cls_<split>``, ...).

Splits are generated on first use into ``$D2EXT_DATASETS/shapes/<split>`` (default ``./datasets``)
under a file lock, so that when several processes start at once one writes and the others wait.
"""
import json
import os
from dataclasses import asdict, dataclass
from functools import partial

import cv2
import numpy as np
import pycocotools.mask as mask_util
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.datasets import load_coco_json
from tqdm import tqdm

from .generated import ensure_generated, generate, is_complete

__all__ = ["SHAPES_CLASSES", "SHAPES_COLORS", "SHAPES_SEM_SEG_METADATA", "ShapesSplitSpec", "SHAPES_SPLITS", "render_scene",
           "generate_split", "is_split_complete", "ensure_split", "register_shapes"]

SHAPES_CLASSES = ("circle", "square", "triangle")
SHAPES_COLORS = ((230, 60, 60), (60, 140, 250), (250, 200, 40))  # overlay colour per class (RGB)
# The classes of the sem_seg/ masks (also the metadata of semantic segmentation views of a split): id 0 is the background, id k the class SHAPES_CLASSES[k - 1].
SHAPES_SEM_SEG_METADATA = {
    "stuff_classes": ["background", *SHAPES_CLASSES],
    "stuff_colors": [[0, 0, 0], *[list(c) for c in SHAPES_COLORS]],
    "ignore_label": 255,
}
_GENERATOR_VERSION = 1  # bump when rendering changes, so old files on disk are regenerated
_MIN_VISIBLE_FRACTION = 0.5
_PLACEMENT_TRIES = 20


@dataclass(frozen=True)
class ShapesSplitSpec:
    """What one split contains; two equal specs always produce byte-identical files."""

    num_images: int
    seed: int
    image_size: int = 128
    max_objects: int = 5
    min_radius: int = 10
    max_radius: int = 28
    style: str = "filled"  # "filled" or "outlined"


SHAPES_SPLITS = {
    "train": ShapesSplitSpec(num_images=2000, seed=0),
    "val": ShapesSplitSpec(num_images=200, seed=1),
}


def _background(rng, size):
    """A smooth colour gradient with stripes and pixel noise: (size, size, 3) uint8 RGB."""
    corners = rng.uniform(40, 215, size=(2, 2, 3)).astype(np.float32)
    image = cv2.resize(corners, (size, size), interpolation=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 20)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    image += (stripes * rng.uniform(5, 20))[..., None]
    image += rng.normal(0, 8, size=image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _shape_polygon(class_name, center, radius, angle):
    """Vertices (N, 2) of a square or triangle inscribed in a circle of `radius`, rotated by `angle`."""
    sides = {"square": 4, "triangle": 3}[class_name]
    thetas = angle + 2 * np.pi * np.arange(sides) / sides
    return np.stack([center[0] + radius * np.cos(thetas), center[1] + radius * np.sin(thetas)], axis=1)


def _draw_shape(canvas, class_name, center, radius, angle, value, outline_width):
    """Draw one shape into `canvas` (in place) with `value`; filled when `outline_width` is 0."""
    thickness = outline_width if outline_width > 0 else cv2.FILLED
    if class_name == "circle":
        cv2.circle(canvas, (int(round(center[0])), int(round(center[1]))), int(radius), value, thickness)
    else:
        points = np.round(_shape_polygon(class_name, center, radius, angle)).astype(np.int32)
        if outline_width > 0:
            cv2.polylines(canvas, [points], True, value, thickness)
        else:
            cv2.fillPoly(canvas, [points], value)


def _distinct_color(rng, background_mean):
    """A random RGB colour at least 80 (L2) away from the background's mean colour."""
    while True:
        color = rng.integers(0, 256, size=3)
        if np.linalg.norm(color - background_mean) >= 80:
            return tuple(int(c) for c in color)


def render_scene(rng, spec):
    """
    Render one scene.

    Args:
        rng (np.random.Generator): consumed deterministically.
        spec (ShapesSplitSpec): image size, object count and size range, style.
    Returns:
        image: (H, W, 3) uint8 RGB.
        instances: list of (class_id, visible_mask) with class_id indexing SHAPES_CLASSES and
            visible_mask an (H, W) bool array, in drawing order (later ones on top).
    """
    size = spec.image_size
    image = _background(rng, size)
    background_mean = image.reshape(-1, 3).mean(axis=0)
    outline_width = 3 if spec.style == "outlined" else 0
    visible, full_areas, class_ids = [], [], []
    for _ in range(rng.integers(1, spec.max_objects + 1)):
        class_id = int(rng.integers(len(SHAPES_CLASSES)))
        color = _distinct_color(rng, background_mean)
        for _ in range(_PLACEMENT_TRIES):
            radius = rng.uniform(spec.min_radius, spec.max_radius)
            center = rng.uniform(radius, size - radius, size=2)
            angle = rng.uniform(0, 2 * np.pi)
            mask = np.zeros((size, size), np.uint8)
            _draw_shape(mask, SHAPES_CLASSES[class_id], center, radius, angle, 1, outline_width)
            mask = mask.astype(bool)
            if all((v & ~mask).sum() >= _MIN_VISIBLE_FRACTION * a for v, a in zip(visible, full_areas)):
                break
        else:
            continue  # no placement keeps the earlier shapes visible enough: fewer objects
        _draw_shape(image, SHAPES_CLASSES[class_id], center, radius, angle, color, outline_width)
        visible = [v & ~mask for v in visible] + [mask]
        full_areas.append(mask.sum())
        class_ids.append(class_id)
    return image, list(zip(class_ids, visible))


def _coco_annotation(ann_id, image_id, class_id, mask):
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return {
        "id": ann_id, "image_id": image_id, "category_id": class_id + 1, "iscrowd": 0,
        "bbox": [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0],
        "area": int(mask.sum()), "segmentation": rle,
    }


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


def _write_split(out_dir, spec, progress):
    """Write the images, semantic masks and COCO instances of `spec`'s split into `out_dir`."""
    for sub in ("images", "sem_seg"):
        os.makedirs(os.path.join(out_dir, sub))
    images, annotations = [], []
    for index in tqdm(range(spec.num_images), desc="generating shapes", disable=not progress, unit="img"):
        rng = np.random.default_rng([spec.seed, index])
        image, instances = render_scene(rng, spec)
        file_name = f"{index:06d}.png"
        cv2.imwrite(os.path.join(out_dir, "images", file_name), image[:, :, ::-1])
        sem_seg = np.zeros(image.shape[:2], np.uint8)
        for class_id, mask in instances:
            sem_seg[mask] = class_id + 1
            annotations.append(_coco_annotation(len(annotations) + 1, index, class_id, mask))
        cv2.imwrite(os.path.join(out_dir, "sem_seg", file_name), sem_seg)
        images.append({"id": index, "file_name": file_name, "height": spec.image_size, "width": spec.image_size})
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(SHAPES_CLASSES)]
    _write_json(os.path.join(out_dir, "instances.json"),
                {"images": images, "annotations": annotations, "categories": categories})


def _fingerprint(spec):
    return {"generator_version": _GENERATOR_VERSION, "spec": asdict(spec)}


def generate_split(split_dir, spec, progress=True):
    """
    Write the split described by `spec` into `split_dir`, replacing whatever is there; a reader
    never sees a half-written split (see d2ext.data.generated).
    """
    generate(split_dir, _fingerprint(spec), partial(_write_split, spec=spec, progress=progress))


def is_split_complete(split_dir, spec):
    """True when `split_dir` holds every file of `spec`'s split with the size it was written with."""
    return is_complete(split_dir, _fingerprint(spec))


def ensure_split(split_dir, spec):
    """
    Generate the split unless it is complete; concurrent callers wait for the one that writes.
    Returns True when this call generated it.
    """
    return ensure_generated(split_dir, _fingerprint(spec), partial(_write_split, spec=spec, progress=True),
                            f"shapes split ({spec.num_images} images)")


def _load_split(split_dir, spec, dataset_name):
    ensure_split(split_dir, spec)
    dicts = load_coco_json(os.path.join(split_dir, "instances.json"),
                           os.path.join(split_dir, "images"), dataset_name)
    for record in dicts:
        record["sem_seg_file_name"] = os.path.join(split_dir, "sem_seg", os.path.basename(record["file_name"]))
    return dicts


def register_shapes(root):
    """Register ``shapes_<split>`` for every split in SHAPES_SPLITS, generated under `root`/shapes."""
    for split, spec in SHAPES_SPLITS.items():
        name = f"shapes_{split}"
        split_dir = os.path.join(root, "shapes", split)
        DatasetCatalog.register(name, lambda d=split_dir, s=spec, n=name: _load_split(d, s, n))
        MetadataCatalog.get(name).set(
            thing_classes=list(SHAPES_CLASSES),
            thing_colors=[list(c) for c in SHAPES_COLORS],
            **SHAPES_SEM_SEG_METADATA,
            json_file=os.path.join(split_dir, "instances.json"),
            image_root=os.path.join(split_dir, "images"),
            sem_seg_root=os.path.join(split_dir, "sem_seg"),
            evaluator_type="coco",
        )
