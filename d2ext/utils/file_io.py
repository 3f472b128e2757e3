"""Writing files so that a reader (or a kill) never meets a half-written one."""
import json
import os
import tempfile

import cv2

__all__ = ["atomic_write_bytes", "atomic_write_json", "atomic_write_image"]


def atomic_write_bytes(path, data):
    """Write `data` to a temporary file next to `path`, flush it to disk, then rename it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        os.unlink(tmp_path)
        raise


def atomic_write_json(path, obj):
    atomic_write_bytes(path, json.dumps(obj, indent=2).encode())


def atomic_write_image(path, rgb):
    """Write an (H, W, 3) uint8 RGB image; the format follows the extension of `path` (.png, .jpg)."""
    ok, encoded = cv2.imencode(os.path.splitext(path)[1] or ".png", rgb[:, :, ::-1])
    if not ok:
        raise ValueError(f"{path}: OpenCV cannot encode an image with this extension.")
    atomic_write_bytes(path, encoded.tobytes())
