"""d2ext: classification, SSD, semantic segmentation and GANs as detectron2 components."""
from . import data, evaluation, modeling  # noqa: F401  fill the registries
from .config import add_d2ext_config, get_cfg

__version__ = "0.1.0"

