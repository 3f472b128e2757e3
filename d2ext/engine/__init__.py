from .predictor import Predictor
from .setup import load_config, resolve_device, setup
from .trainer import TRAINER_REGISTRY, Trainer, trainer_class
from .gan_trainer import GANTrainer
