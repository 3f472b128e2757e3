"""Semantic segmentation predictions as a PNG of class ids beside the JSON record."""
import os

import cv2
import numpy as np

from ..utils.file_io import atomic_write_bytes
from ..utils.prediction_files import prediction_writer

__all__ = ["class_id_mask"]


@prediction_writer("sem_seg")
def class_id_mask(stem, predictions, metadata, top_k):
    """
    Writes ``<stem>_classes.png``: each pixel's best class id (8-bit grey up to 256 classes, 16-bit above), at
    the image's size; JSON fields "classes_png" (that file's name) and "classes" (the ids present, with names).
    """
    logits = predictions["sem_seg"]
    ids = logits.argmax(dim=0).cpu().numpy().astype(np.uint8 if len(logits) <= 256 else np.uint16)
    ok, png = cv2.imencode(".png", ids)
    if not ok:
        raise ValueError(f"{stem}_classes.png: OpenCV cannot encode the class-id mask.")
    atomic_write_bytes(stem + "_classes.png", png.tobytes())
    names = metadata.get("stuff_classes", [])
    present = np.unique(ids).tolist()
    return {"classes_png": os.path.basename(stem) + "_classes.png",
            "classes": [{"id": c, "name": names[c] if c < len(names) else str(c)} for c in present]}
