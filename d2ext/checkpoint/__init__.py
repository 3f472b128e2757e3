"""Checkpoint loading: detectron2's checkpointer made safe, and the torchvision converter registry."""
from .checkpointer import SafeCheckpointer, check_pickle_holds_only_data
from .torchvision_weights import (TORCHVISION_CONVERTER_REGISTRY, check_torchvision_state_dict, convert_torchvision,
                                  torchvision_archs)
