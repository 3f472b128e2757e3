"""
d2ext: image classification, SSD, semantic segmentation and GANs as detectron2 components.

Importing d2ext fills every registry: the core's (config keys, dataset types, mappers, evaluators, trainers,
converters, overlays) and each task's. The core imports no task; each task registers into the core.
"""
from .utils.quiet import silence_known_warnings

silence_known_warnings()  # before detectron2 is imported

from . import checkpoint, data, engine, evaluation, export, modeling  # noqa: E402,F401  the core
from . import classification, detection, gan, semantic_seg, ssd  # noqa: E402,F401  the tasks
from .config import add_d2ext_config, get_cfg, load_config  # noqa: E402
from .data import register_declared_datasets  # noqa: E402
from .engine import Predictor, Trainer  # noqa: E402

__version__ = "0.1.0"
