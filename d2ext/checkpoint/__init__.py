"""Checkpoint loading: detectron2's checkpointer extended, torchvision weight conversion."""
from .checkpointer import Checkpointer
from .torchvision_weights import (
    SEGMENTATION_ARCHS,
    SSD_ARCHS,
    convert_torchvision,
    convert_torchvision_classifier,
    convert_torchvision_segmentation,
    convert_torchvision_ssd,
    torchvision_ssd_labels,
)
