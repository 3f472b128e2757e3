"""Inference that does not depend on the batch: images of one size (or one group) run together, never padded to another's."""
from collections import defaultdict

__all__ = ["map_by_group", "image_size"]


def image_size(x):
    """The (H, W) of input dict `x`'s "image"."""
    return tuple(x["image"].shape[-2:])


def map_by_group(batched_inputs, fn, key=image_size):
    """
    Call ``fn(group key, inputs of the group)`` -> their outputs once per group of `batched_inputs` that share
    ``key(input)`` (default: the image size), and return all outputs in the order of `batched_inputs`.
    """
    groups = defaultdict(list)
    for index, x in enumerate(batched_inputs):
        groups[key(x)].append(index)
    results = [None] * len(batched_inputs)
    for group, indices in groups.items():
        for index, result in zip(indices, fn(group, [batched_inputs[i] for i in indices]), strict=True):
            results[index] = result
    return results
