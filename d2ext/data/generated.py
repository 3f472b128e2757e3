"""
Generated dataset folders: written into a temporary sibling folder and renamed into place, with a
``manifest.json`` written last that holds a *fingerprint* of what was generated (generator version,
parameters) and, under "files", every file's size. A folder is complete when its manifest has the
expected fingerprint and every listed file has its size; anything else is regenerated.
"""
import json
import logging
import os
import shutil
import tempfile

from filelock import FileLock

__all__ = ["datasets_root", "generate", "is_complete", "ensure_generated"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def datasets_root():
    """Where bundled datasets are generated: ``$D2EXT_DATASETS``, default ``./datasets``."""
    return os.path.abspath(os.environ.get("D2EXT_DATASETS", "datasets"))


def _file_sizes(folder):
    """{relative path with "/" separators: size in bytes} of every file below `folder`."""
    sizes = {}
    for dir_path, _, file_names in os.walk(folder):
        for file_name in file_names:
            path = os.path.join(dir_path, file_name)
            sizes[os.path.relpath(path, folder).replace(os.sep, "/")] = os.path.getsize(path)
    return dict(sorted(sizes.items()))


def _as_json(fingerprint):
    # What a manifest reads back (tuples become lists), so that fingerprints compare equal.
    return json.loads(json.dumps(fingerprint))


def generate(target_dir, fingerprint, write_fn):
    """
    Call ``write_fn(folder)`` to write the files into a temporary sibling of `target_dir`, add the
    manifest of `fingerprint` (a JSON-serialisable dict without a "files" key) and rename it to
    `target_dir`, replacing whatever is there. A reader never sees a half-written folder.
    """
    target_dir = os.path.abspath(target_dir)
    parent = os.path.dirname(target_dir)
    os.makedirs(parent, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f".{os.path.basename(target_dir)}.tmp-", dir=parent)
    try:
        write_fn(tmp_dir)
        manifest = {**fingerprint, "files": _file_sizes(tmp_dir)}
        with open(os.path.join(tmp_dir, MANIFEST), "w") as f:
            json.dump(manifest, f)
        if os.path.exists(target_dir):
            shutil.rmtree(target_dir)
        os.rename(tmp_dir, target_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def is_complete(target_dir, fingerprint):
    """True when `target_dir` was generated with `fingerprint` and every file it lists has its size."""
    try:
        with open(os.path.join(target_dir, MANIFEST)) as f:
            manifest = json.load(f)
        files = manifest.pop("files")
        return manifest == _as_json(fingerprint) and all(
            os.path.getsize(os.path.join(target_dir, rel_path)) == size for rel_path, size in files.items()
        )
    except (OSError, ValueError, KeyError):  # no manifest, a truncated one or a listed file missing
        return False


def ensure_generated(target_dir, fingerprint, write_fn, description):
    """
    ``generate`` unless `target_dir` is complete. Under a file lock, so that of several processes
    one writes and the others wait. `description` (e.g. "shapes split (200 images)") is logged.
    Returns True when this call generated the folder.
    """
    if is_complete(target_dir, fingerprint):
        return False
    target_dir = os.path.abspath(target_dir)
    os.makedirs(os.path.dirname(target_dir), exist_ok=True)
    with FileLock(target_dir + ".lock"):
        if is_complete(target_dir, fingerprint):  # another process wrote it while this one waited
            return False
        logger.info(f"Generating {description} into {target_dir} ...")
        generate(target_dir, fingerprint, write_fn)
        return True
