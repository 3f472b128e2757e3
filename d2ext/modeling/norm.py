"""Normalisation names that work in one process as in several."""
from detectron2.utils import comm

__all__ = ["resolve_norm"]


def resolve_norm(norm):
    """
    `norm` (a detectron2 norm name such as "BN", "SyncBN", "GN", "") as it should be built now:
    "SyncBN" becomes "BN" when a single process trains, where SyncBN has nothing to synchronise
    and, without a process group, would crash.
    """
    return "BN" if norm == "SyncBN" and comm.get_world_size() == 1 else norm
