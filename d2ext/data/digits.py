"""
``digits``: scikit-learn's handwritten digits (``sklearn.datasets.load_digits()``: 1,797 8x8 grayscale
images of the digits 0-9, shipped inside scikit-learn, no download) as an image-folder dataset.

Written on first use into ``$D2EXT_DATASETS/digits`` (default ``./datasets``), under a file lock::

    train/<digit>/<index>.png    1,438 images
    test/<digit>/<index>.png     359 images: every sample whose index i has i % 5 == 4
    manifest.json                what was written; written last = folder complete

``<index>`` is the sample's index in ``load_digits()``, zero-padded to 4 digits, and each PNG is 8x8
8-bit grayscale with pixel = value * 255 // 16 (the values are 0..16). The split needs no random seed.
The tasks register their views of it: ``digits_<split>`` (classification), ``digits_gan_<split>`` (GANs).
"""
import os

import cv2
import numpy as np
from detectron2.data import DatasetCatalog, MetadataCatalog

from .generated import ensure_generated
from .image_folder import load_image_folder

__all__ = ["DIGITS_CLASSES", "DIGITS_SPLITS", "digits_split_of", "ensure_digits", "register_digits_splits"]

DIGITS_CLASSES = tuple(str(digit) for digit in range(10))
DIGITS_SPLITS = ("train", "test")
_GENERATOR_VERSION = 1  # bump when the written files change, so old files on disk are regenerated
_NUM_SAMPLES = 1797  # len(load_digits().target)


def digits_split_of(index):
    """The split of sample `index` of ``load_digits()``: "test" when index % 5 == 4, else "train"."""
    return "test" if index % 5 == 4 else "train"


def _write_digits(out_dir):
    # Imported here: scikit-learn takes about a second to import, paid only when the folder is written.
    from sklearn.datasets import load_digits

    digits = load_digits()
    if len(digits.target) != _NUM_SAMPLES:
        raise RuntimeError(f"scikit-learn's load_digits() has {len(digits.target)} samples, d2ext's split "
                           f"expects {_NUM_SAMPLES}: bump _GENERATOR_VERSION and the documented split sizes.")
    pixels = (digits.images.astype(np.int64) * 255 // 16).astype(np.uint8)
    for index, (image, digit) in enumerate(zip(pixels, digits.target)):
        folder = os.path.join(out_dir, digits_split_of(index), str(digit))
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(os.path.join(folder, f"{index:04d}.png"), image)


def ensure_digits(digits_dir):
    """Write the digits dataset into `digits_dir` unless it is complete. Returns True when this call wrote it."""
    fingerprint = {"generator_version": _GENERATOR_VERSION, "num_samples": _NUM_SAMPLES}
    return ensure_generated(digits_dir, fingerprint, _write_digits, f"scikit-learn digits ({_NUM_SAMPLES} images)")


def _load_split(digits_dir, split):
    ensure_digits(digits_dir)
    return load_image_folder(os.path.join(digits_dir, split), DIGITS_CLASSES)


def register_digits_splits(root, name_format, evaluator_type):
    """
    Register one dataset per split, named ``name_format.format(split)``, of the digits generated under
    `root`/digits on first use: image-folder records (labels = digits) with ``evaluator_type``.
    """
    digits_dir = os.path.join(root, "digits")
    for split in DIGITS_SPLITS:
        name = name_format.format(split)
        DatasetCatalog.register(name, lambda s=split: _load_split(digits_dir, s))
        MetadataCatalog.get(name).set(thing_classes=list(DIGITS_CLASSES), image_root=os.path.join(digits_dir, split),
                                      evaluator_type=evaluator_type)
