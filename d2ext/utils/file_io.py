"""Writing files so that a reader (or a kill) never meets a half-written one."""
import contextlib
import glob
import json
import logging
import os
import tempfile

import cv2

__all__ = ["AtomicWrites", "atomic_open", "atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_image",
           "remove_temporary_files"]

_TEMPORARY_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """
    A file opened in `mode` (a write mode) that becomes `path` only when the block ends without error: it is
    a temporary file next to `path`, flushed to disk and renamed into place; on an error it is removed. A
    kill at any moment leaves `path` as it was (or absent), never half-written.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=_TEMPORARY_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        os.unlink(tmp_path)
        raise


@contextlib.contextmanager
def atomic_path(path):
    """
    For writers that take a file name: a temporary path beside `path` (mode 0o666 less the umask, as open()
    gives) that becomes `path` when the block ends without error, and is removed on an error.
    """
    fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=_TEMPORARY_SUFFIX,
                                    dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise


def remove_temporary_files(directory):
    """
    Remove the temporary files that atomic_open calls killed mid-write left in `directory` (none otherwise);
    only while no other process writes there. Returns how many were removed.
    """
    stale = glob.glob(os.path.join(glob.escape(directory), f".*{_TEMPORARY_SUFFIX}"))
    for path in stale:
        os.unlink(path)
    if stale:
        logging.getLogger(__name__).info(f"Removed {len(stale)} temporary file(s) of writes killed midway in {directory}.")
    return len(stale)


def atomic_write_bytes(path, data):
    """Write `data` to `path` with atomic_open."""
    with atomic_open(path, "wb") as f:
        f.write(data)


class AtomicWrites:
    """A detectron2/iopath PathManager whose ``open`` in a "w" mode is atomic_open; all else is the wrapped one's."""

    def __init__(self, path_manager):
        self._path_manager = path_manager

    def open(self, path, mode="r", **kwargs):
        if "w" in mode:
            return atomic_open(path, mode)
        return self._path_manager.open(path, mode, **kwargs)

    def __getattr__(self, name):
        return getattr(self._path_manager, name)


def atomic_write_json(path, obj):
    atomic_write_bytes(path, json.dumps(obj, indent=2).encode())


def atomic_write_image(path, rgb):
    """Write an (H, W, 3) uint8 RGB image; the format follows the extension of `path` (.png, .jpg)."""
    ok, encoded = cv2.imencode(os.path.splitext(path)[1] or ".png", rgb[:, :, ::-1])
    if not ok:
        raise ValueError(f"{path}: OpenCV cannot encode an image with this extension.")
    atomic_write_bytes(path, encoded.tobytes())
