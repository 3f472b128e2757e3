"""Overlays of semantic segmentation: predicted classes and ground-truth masks, each pixel in its class's colour."""
from ..utils.visualizer import ground_truth_drawer, prediction_drawer
from .data.masks import check_mask_ids, read_mask

__all__ = ["draw_predicted_sem_seg", "draw_sem_seg_mask"]

# Opacity of semantic segmentation overlays: the image stays visible under the classes.
_ALPHA = 0.5


@prediction_drawer("sem_seg")
def draw_predicted_sem_seg(visualizer, predictions, top_k):
    """predictions["sem_seg"]: (K, H, W) class scores; each pixel is drawn in the colour of its best class."""
    return visualizer.draw_sem_seg(predictions["sem_seg"].argmax(dim=0).cpu(), alpha=_ALPHA)


@ground_truth_drawer("sem_seg", "cityscapes_sem_seg")
def draw_sem_seg_mask(visualizer, record):
    """The record's mask, its ids checked against the metadata's stuff_classes and ignore_label."""
    metadata, file_name = visualizer.metadata, record["sem_seg_file_name"]
    mask = read_mask(file_name)
    check_mask_ids(mask, len(metadata.stuff_classes), metadata.ignore_label, file_name)
    # draw_sem_seg paints the ids below len(stuff_classes) only, so ignore_label pixels are left as they are.
    return visualizer.draw_sem_seg(mask, alpha=_ALPHA)
