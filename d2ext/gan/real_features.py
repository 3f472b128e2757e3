"""
The real images' classifier features of the "gan" evaluator, computed once per dataset and classifier: kept in
memory for the process and in a file beside the classifier's weights, each under a key of everything they depend
on (the images' names, sizes and modification times, the classifier, the input config, the device), so that a
change to any of these recomputes them and a stale or unreadable file is replaced, never trusted.
"""
import hashlib
import json
import logging
import os
import time
from collections import Counter

import torch

from ..data import DatasetError
from ..utils.file_io import atomic_open

__all__ = ["cached_real_features", "real_features_file"]

logger = logging.getLogger(__name__)

_FORMAT_VERSION = 1  # part of every key: bump it when what is stored, or how it is computed, changes
_IN_MEMORY = {}  # file path -> (key, features): the latest features of each (classifier weights, dataset) in this process


def real_features_file(weights, dataset_name):
    """The file that keeps the real features of `dataset_name` in the features of the classifier `weights`."""
    stem = os.path.splitext(os.path.basename(weights))[0]
    return os.path.join(os.path.dirname(os.path.abspath(weights)), "real_features", f"{stem}.{dataset_name}.pt")


def _key(records, depends_on):
    """sha256 (hex) of `depends_on` and of each record's file name, domain, file size and modification time."""
    digest = hashlib.sha256(json.dumps({"version": _FORMAT_VERSION, **depends_on}, sort_keys=True).encode())
    for record in records:
        file_name = record["file_name"]
        try:
            stat = os.stat(file_name)
        except OSError as e:
            raise DatasetError(f"{file_name}: cannot read this image ({e}). Replace the file or remove its entry "
                               "from the dataset.") from e
        digest.update(f"{file_name}\0{record.get('domain', '')}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _load(path, key, counts):
    """The features stored in `path` under `key`, with `counts` ({domain: rows}); None when absent, stale or unreadable."""
    if not os.path.isfile(path):
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file raises pickle's, zipfile's or torch's errors alike
        logger.warning(f"{path}: unreadable ({type(e).__name__}: {e}); recomputing the real features.")
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        logger.info(f"{path}: made for other images, classifier or INPUT config; recomputing the real features.")
        return None
    features = stored.get("features")
    if not (isinstance(features, dict) and {d: len(f) for d, f in features.items()} == counts
            and all(isinstance(f, torch.Tensor) and f.dim() == 2 for f in features.values())):
        logger.warning(f"{path}: its features do not match the dataset's {dict(counts)} images; recomputing them.")
        return None
    return features


def _save(path, key, features):
    try:
        with atomic_open(path) as f:
            torch.save({"key": key, "features": features}, f)
        logger.info(f"Wrote {path}")
    except OSError as e:
        logger.warning(f"Cannot write {path} ({e}): the real features are kept in memory only, and each new "
                       "process recomputes them. Make the classifier's folder writable to keep them.")


def cached_real_features(path, records, depends_on, compute):
    """
    Args:
        path (str): the file that keeps them (real_features_file).
        records (list[dict]): the dataset's records, each with "file_name" and, in unpaired datasets, "domain".
        depends_on (dict): JSON-able values the features depend on besides the images (classifier, config, device).
        compute (callable): records -> {domain ("" without domains): (N, D) features, in the records' order}.
    Returns:
        dict: compute(records), from memory when this process computed or loaded it under the same key, else
        from `path` when it holds that key, else computed and written to `path` (atomically).
    """
    key = _key(records, depends_on)
    kept = _IN_MEMORY.get(path)
    if kept and kept[0] == key:
        return kept[1]
    features = _load(path, key, Counter(record.get("domain", "") for record in records))
    if features is not None:
        logger.info(f"Loaded the features of {len(records)} real images from {path}")
    else:
        start = time.perf_counter()
        features = {domain: f.cpu() for domain, f in compute(records).items()}
        logger.info(f"Computed the features of {len(records)} real images in {time.perf_counter() - start:.1f} s")
        _save(path, key, features)
    _IN_MEMORY[path] = (key, features)
    return features
