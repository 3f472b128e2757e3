from .predictor import Predictor
from .setup import load_config, resolve_device, setup
from .trainer import Trainer
