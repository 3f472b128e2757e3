"""Comparing an exported model's outputs with the PyTorch model's, key by key, against the export tolerances."""
import torch
from detectron2.structures import Instances

__all__ = ["OUTPUT_TOLERANCES", "compare_outputs", "differences_above_tolerance"]

# Output key -> the largest difference an export may give: logits and scores 1e-4, boxes 0.01 px, generated images
# one grey level (uint8), binary masks (pasted at a 0.5 threshold, so a pixel whose probability is 0.5 within
# float noise may flip) the fraction 1e-3 of their pixels.
OUTPUT_TOLERANCES = {
    "pred_logits": 1e-4, "scores": 1e-4, "sem_seg": 1e-4, "pred_boxes": 0.01, "pred_masks": 1e-3,
    "generated": 1, "translated": 1, "reconstructed": 1,
}


def compare_outputs(reference, exported):
    """
    Two lists of a model's output dicts -> {key: largest absolute difference over all images; for binary masks, the
    fraction of pixels that differ}. Detections ("instances") compare field by field; a different number of
    detections or other classes give inf.
    """
    differences = {}

    def note(key, a, b):
        if a.shape != b.shape:
            difference = float("inf")
        elif a.dtype == torch.bool:
            difference = (a != b).double().mean().item() if a.numel() else 0.0
        else:
            difference = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
        differences[key] = max(differences.get(key, 0.0), difference)

    for ref, exp in zip(reference, exported, strict=True):
        for key, value in ref.items():
            if isinstance(value, Instances):
                other = exp[key]
                if len(value) != len(other) or not torch.equal(value.pred_classes.cpu(), other.pred_classes.cpu()):
                    differences["pred_classes"] = float("inf")
                    continue
                for field, tensor in value.get_fields().items():
                    tensor = getattr(tensor, "tensor", tensor)
                    if field != "pred_classes":
                        note(field, tensor.cpu(), getattr(other.get(field), "tensor", other.get(field)).cpu())
            elif isinstance(value, torch.Tensor) and value.is_floating_point() or key in OUTPUT_TOLERANCES:
                note(key, value.cpu(), exp[key].cpu())
            elif isinstance(value, torch.Tensor) and not torch.equal(value.cpu(), exp[key].cpu()) or \
                    not isinstance(value, torch.Tensor) and value != exp[key]:
                differences[key] = float("inf")
    return differences


def differences_above_tolerance(differences):
    """The (key, difference, tolerance) of `differences` (from compare_outputs) above OUTPUT_TOLERANCES (exact: 0)."""
    return [(key, value, OUTPUT_TOLERANCES.get(key, 0.0)) for key, value in differences.items()
            if value > OUTPUT_TOLERANCES.get(key, 0.0)]
