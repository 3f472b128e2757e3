"""
Semantic segmentation masks: single-channel images of class ids 0..K-1, with ``ignore_label``
(255 by default) on the pixels that are not scored.
"""
import contextlib

import numpy as np
from PIL import Image

from ...data import DatasetError

__all__ = ["MASK_MODES", "read_mask", "read_mask_size", "check_mask_ids"]

# PIL modes of a mask of class ids. A "P" (palette) image holds ids whose palette only colours them.
MASK_MODES = ("L", "P", "I", "I;16")
_SHOWN_IDS = 5  # how many offending ids an error lists


@contextlib.contextmanager
def _open_mask(file_name):
    """The PIL image of the mask `file_name`, its header read and its mode checked; DatasetError otherwise."""
    try:
        with Image.open(file_name) as image:
            if image.mode not in MASK_MODES:
                raise DatasetError(
                    f"{file_name}: a mask of PIL mode {image.mode!r}, not a single-channel image of class ids "
                    f"(modes {', '.join(MASK_MODES)}). Convert its colours to class ids 0..K-1 (the ignore "
                    "label on unlabelled pixels) and save it as a single-channel PNG."
                )
            yield image
    except OSError as e:
        raise DatasetError(f"{file_name}: cannot read this mask ({e}). Replace the file or remove its image "
                           "from the dataset.") from e


def read_mask(file_name):
    """The class ids of the mask `file_name` as stored (a palette is not applied): (H, W) integer array."""
    with _open_mask(file_name) as image:
        return np.array(image)


def read_mask_size(file_name):
    """(height, width) of the mask `file_name` from its header, without decoding the pixels; its mode is checked."""
    with _open_mask(file_name) as image:
        width, height = image.size
    return height, width


def check_mask_ids(mask, num_classes, ignore_label, file_name):
    """
    Raise DatasetError naming `file_name` when the (H, W) integer `mask` holds an id outside
    0..num_classes-1 other than `ignore_label`.
    """
    bad = ((mask < 0) | (mask >= num_classes)) & (mask != ignore_label)
    if bad.any():
        ids = np.unique(mask[bad]).tolist()
        shown = ", ".join(map(str, ids[:_SHOWN_IDS])) + (", ..." if len(ids) > _SHOWN_IDS else "")
        raise DatasetError(
            f"{file_name}: mask ids [{shown}] are neither class ids 0..{num_classes - 1} ({num_classes} classes) "
            f"nor the ignore label {ignore_label}. Fix the mask, or make the classes cover them "
            "(MODEL.SEM_SEG_HEAD.NUM_CLASSES and the dataset's CLASSES), or mark unscored pixels with the "
            "ignore label (MODEL.SEM_SEG_HEAD.IGNORE_VALUE and the dataset's IGNORE_LABEL)."
        )
