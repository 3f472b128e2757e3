"""
``torchvision://<weights enum>[?backbone]`` names for MODEL.WEIGHTS: torchvision's pretrained weights by the name of
their enum entry (``torchvision://ResNet50_Weights.IMAGENET1K_V2``, ``torchvision://SSD300_VGG16_Weights.DEFAULT``),
read from torchvision's cache of downloaded weights and converted in memory by ``convert_torchvision``.
``?backbone`` keeps only the backbone, as ``tools/convert_torchvision.py --backbone-only`` does.

d2ext never downloads: a file missing from the cache stops the load with its URL and the folder to put it in.
"""
import os
from dataclasses import dataclass
from urllib.parse import urlparse

import torch
import torchvision

from .torchvision_weights import convert_torchvision, torchvision_archs

__all__ = ["TorchvisionWeightsName", "is_torchvision_name"]

TORCHVISION_SCHEME = "torchvision://"
_BACKBONE_OPTION = "backbone"
_EXAMPLE = "torchvision://ResNet50_Weights.IMAGENET1K_V2"


def is_torchvision_name(path):
    """True for a ``torchvision://`` name."""
    return isinstance(path, str) and path.startswith(TORCHVISION_SCHEME)


def _converted_weights_enums():
    """{torchvision weights enum class: its architecture} for every architecture a registered converter takes."""
    return {torchvision.models.get_model_weights(arch): arch for arch in torchvision_archs()}


def _weights_of(name, weights_name, enums):
    """torchvision's weights enum entry named `weights_name` (of one of `enums`); ValueError naming `name` otherwise."""
    enum_name, _, entry = weights_name.partition(".")
    by_enum_name = {enum.__name__: enum for enum in enums}
    try:
        weights = torchvision.models.get_weight(weights_name)
    except (ValueError, KeyError) as e:
        if enum_name in by_enum_name:
            entries = [w.name for w in by_enum_name[enum_name]] + ["DEFAULT"]
            raise ValueError(f"MODEL.WEIGHTS {name!r}: {enum_name} has no entry {entry!r}; choose one of {entries}, "
                             f"e.g. {TORCHVISION_SCHEME}{enum_name}.DEFAULT.") from e
        weights = None
    if type(weights) not in enums:
        raise ValueError(f"MODEL.WEIGHTS {name!r}: not the name of torchvision weights that d2ext converts. Write "
                         f"{TORCHVISION_SCHEME}<weights enum>.<entry>[?{_BACKBONE_OPTION}] (e.g. {_EXAMPLE}) with one "
                         f"of the enums {sorted(by_enum_name)}.")
    return weights


@dataclass(frozen=True)
class TorchvisionWeightsName:
    """A ``torchvision://`` name: torchvision's weights enum entry, its architecture, and whether to keep the backbone only."""

    name: str
    weights: torchvision.models.WeightsEnum
    arch: str
    backbone_only: bool

    @classmethod
    def parse(cls, name):
        """The TorchvisionWeightsName of `name`; ValueError naming it and saying what to write when it names no weights d2ext converts."""
        weights_name, _, option = name[len(TORCHVISION_SCHEME):].partition("?")
        if option not in ("", _BACKBONE_OPTION):
            raise ValueError(f"MODEL.WEIGHTS {name!r}: unknown option '?{option}'. Write {TORCHVISION_SCHEME}"
                             f"{weights_name} for the whole model, or {TORCHVISION_SCHEME}{weights_name}?{_BACKBONE_OPTION} "
                             "for its backbone alone (e.g. ImageNet weights under a detector).")
        enums = _converted_weights_enums()
        weights = _weights_of(name, weights_name, enums)
        return cls(name, weights, enums[type(weights)], option == _BACKBONE_OPTION)

    @property
    def cached_file(self):
        """Where torchvision keeps the weights once downloaded: torch.hub.get_dir()/checkpoints/<the URL's file name>."""
        return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(self.weights.url).path))

    def local_file(self):
        """``cached_file``; FileNotFoundError naming it, the URL and the folder when it is missing."""
        if not os.path.isfile(self.cached_file):
            enum_entry = f"{type(self.weights).__name__}.{self.weights.name}"
            raise FileNotFoundError(
                f"MODEL.WEIGHTS {self.name!r}: {self.cached_file} is missing, and d2ext does not download weights. "
                f"Download {self.weights.url} into {os.path.dirname(self.cached_file)} (torchvision's cache: "
                "$TORCH_HOME/hub/checkpoints, by default ~/.cache/torch/hub/checkpoints); on a machine with internet, "
                f"python -c \"import torchvision; torchvision.models.get_weight('{enum_entry}').get_state_dict()\" "
                "puts it in that machine's cache.")
        return self.cached_file

    def convert(self, state_dict, source):
        """The d2ext checkpoint of `state_dict`, torchvision's file of these weights (`source`, for errors)."""
        return convert_torchvision(state_dict, self.arch, self.backbone_only, source=f"{source} ({self.name})")
