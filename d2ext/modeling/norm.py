"""Normalisation names that work in one process as in several, on GPUs as on CPUs."""
import torch.distributed as dist
from detectron2.layers import NaiveSyncBatchNorm
from detectron2.utils import comm
from torch import nn

__all__ = ["resolve_norm", "convert_to_naive_sync_batchnorm"]


def resolve_norm(norm):
    """
    `norm` (a detectron2 norm name such as "BN", "SyncBN", "GN", "") as it should be built now.
    "SyncBN" becomes "BN" when a single process trains (nothing to synchronise, and without a
    process group it would crash), and detectron2's "naiveSyncBN" when the processes train on CPUs
    (gloo): torch's SyncBatchNorm runs on GPUs only.
    """
    if norm != "SyncBN":
        return norm
    if comm.get_world_size() == 1:
        return "BN"
    return "SyncBN" if dist.get_backend() == "nccl" else "naiveSyncBN"


def convert_to_naive_sync_batchnorm(module):
    """`module` with every nn.BatchNorm2d replaced by detectron2's NaiveSyncBatchNorm holding its state (in place)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            synced = NaiveSyncBatchNorm(child.num_features, eps=child.eps, momentum=child.momentum, affine=child.affine)
            synced.load_state_dict(child.state_dict())
            module.add_module(name, synced)
        else:
            convert_to_naive_sync_batchnorm(child)
    return module
