"""Checkpoint loading: detectron2's checkpointer extended, torchvision weight conversion."""
from .checkpointer import Checkpointer
from .torchvision_weights import convert_torchvision_classifier
