"""
Image-only datasets (the GANs' data): every image under a folder, at any depth, without labels::

    root/**/<image>.png     .png .jpg .jpeg .bmp .webp (any case); hidden (".name") files and folders skipped

Records are ``{"file_name", "image_id"}`` with ``image_id`` the path relative to the root ("/" separators),
listed without opening an image (the mapper reads it, and gives the record its "height" and "width"). An *unpaired* dataset (CycleGAN) holds the images of two roots, domain A then
domain B, each record with ``"domain"`` ("A" or "B"). The metadata's ``evaluator_type`` is "gan".
"""
import logging
import os
from collections import Counter

from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from ...data import DATASET_TYPE_REGISTRY, DatasetError, check_entry
from ...data.image_folder import IMAGE_EXTENSIONS, read_image_header
from ..domains import DOMAINS

__all__ = ["load_image_files", "load_unpaired", "count_image_channels", "log_channel_conversions",
           "register_image_files", "register_unpaired", "unpaired_metadata"]

logger = logging.getLogger(__name__)

# Channels of a PIL mode other than "one band: 1, else 3"; a palette image counts as colour.
_MODE_CHANNELS = {"LA": 2, "La": 2, "P": 3, "PA": 4, "RGBA": 4, "RGBa": 4}
# Headers log_channel_conversions reads at most, so that its cost does not grow with the dataset.
CHANNEL_SAMPLE_SIZE = 1000


def load_image_files(root):
    """
    Args:
        root (str): a folder of images, searched recursively.
    Returns:
        list[dict]: records ``{"file_name", "image_id" (path relative to `root`)}``, sorted by ``image_id``,
        from the directory listings (no image is opened).
    """
    if not os.path.isdir(root):
        raise DatasetError(f"{root}: image root is not a directory. Check the ROOT (or ROOT_A, ROOT_B) path.")
    image_ids = []
    for dir_path, dir_names, file_names in os.walk(root):
        dir_names[:] = [name for name in dir_names if not name.startswith(".")]
        relative_dir = os.path.relpath(dir_path, root).replace(os.sep, "/")
        image_ids += [name if relative_dir == "." else f"{relative_dir}/{name}" for name in file_names
                      if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)]
    if not image_ids:
        raise DatasetError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) under this folder, at any depth. "
                           "Add images or point ROOT (or ROOT_A, ROOT_B) at the folder that holds them.")
    return [{"file_name": os.path.join(root, *image_id.split("/")), "image_id": image_id} for image_id in sorted(image_ids)]


def load_unpaired(root_a, root_b):
    """The records of `root_a` with ``"domain": "A"``, then those of `root_b` with "B"; image_id "A/<id>", "B/<id>"."""
    return [{**record, "image_id": f"{domain}/{record['image_id']}", "domain": domain}
            for domain, root in zip(DOMAINS, (root_a, root_b)) for record in load_image_files(root)]


def _image_channels(path):
    """Channels of the image at `path` from its header mode: 1 (L, I, F, 1), 2 (LA), 3 (RGB, P, ...), 4 (RGBA)."""
    mode = read_image_header(path)[2]
    return _MODE_CHANNELS.get(mode, 1 if Image.getmodebands(mode) == 1 else 3)


def count_image_channels(records):
    """Counter {channels: number of images} of the records' images, from their headers (no pixels decoded)."""
    return Counter(_image_channels(record["file_name"]) for record in records)


def log_channel_conversions(records, image_format, dataset_name, sample_size=CHANNEL_SAMPLE_SIZE):
    """
    Warn about the images of `records` whose channel count is not that of INPUT.FORMAT `image_format`
    ("L": 1, else 3): they are converted when read. Of more than `sample_size` records, only `sample_size`
    evenly spaced ones are read (their headers), and the warning says so. Returns count_image_channels of
    the records read.
    """
    num_records = len(records)
    if num_records > sample_size:
        records = [records[i * num_records // sample_size] for i in range(sample_size)]
    counts = count_image_channels(records)
    expected = 1 if image_format == "L" else 3
    others = [(channels, n) for channels, n in sorted(counts.items()) if channels != expected]
    if not others:
        return counts
    total, parts = sum(counts.values()), []
    for i, (channels, n) in enumerate(others):
        part = (f"{n:,} of {total:,} images have {channels} channel{'s' * (channels > 1)}" if i == 0
                else f"{n:,} have {channels}")
        parts.append(part + (" (alpha dropped)" if channels in (2, 4) else ""))
    sample = f" ({total:,} evenly spaced of its {num_records:,} images read)" if total < num_records else ""
    message = (f"dataset '{dataset_name}'{sample}: {', '.join(parts)}; they are converted to {image_format} "
               "(INPUT.FORMAT) when read.")
    if expected == 3 and set(counts) == {1}:
        message += ' Set INPUT.FORMAT "L" to train a 1-channel model on them rather than on 3 copies of their channel.'
    logger.warning(message)
    return counts


def register_image_files(name, root, metadata=None):
    """
    Register the images under `root` (load_image_files) as dataset `name`, loaded on ``DatasetCatalog.get(name)``.
    `metadata` (dict) adds to or overrides the metadata (``evaluator_type`` "gan", ``image_root``).
    """
    root = os.path.abspath(root)
    DatasetCatalog.register(name, lambda: load_image_files(root))
    MetadataCatalog.get(name).set(image_root=root, **{"evaluator_type": "gan", **(metadata or {})})


def unpaired_metadata(root_a, root_b):
    """The metadata of an unpaired dataset of domains A (images under `root_a`) and B (`root_b`)."""
    return {"evaluator_type": "gan", "domains": list(DOMAINS), "image_root_a": root_a, "image_root_b": root_b}


def register_unpaired(name, root_a, root_b, metadata=None):
    """
    Register the unpaired dataset `name` (load_unpaired) of the images under `root_a` (domain A) and
    `root_b` (domain B). `metadata` (dict) adds to or overrides unpaired_metadata.
    """
    root_a, root_b = os.path.abspath(root_a), os.path.abspath(root_b)
    DatasetCatalog.register(name, lambda: load_unpaired(root_a, root_b))
    MetadataCatalog.get(name).set(**{**unpaired_metadata(root_a, root_b), **(metadata or {})})


@DATASET_TYPE_REGISTRY.register()
def images(name, entry):
    """DATASETS.REGISTER type "images": ROOT, a folder of images at any depth (DCGAN's real images)."""
    register_image_files(name, check_entry(name, entry, required=("ROOT",))["ROOT"])


@DATASET_TYPE_REGISTRY.register()
def unpaired(name, entry):
    """DATASETS.REGISTER type "unpaired": ROOT_A and ROOT_B, the folders of images of domains A and B (CycleGAN)."""
    values = check_entry(name, entry, required=("ROOT_A", "ROOT_B"))
    register_unpaired(name, values["ROOT_A"], values["ROOT_B"])
