"""Checkpoint loading: detectron2's checkpointer made safe, the torchvision converter registry, torchvision:// names."""
from .checkpointer import SafeCheckpointer, check_pickle_holds_only_data
from .torchvision_names import TorchvisionWeightsName
from .torchvision_weights import (TORCHVISION_CONVERTER_REGISTRY, check_torchvision_state_dict, convert_torchvision,
                                  torchvision_archs)
