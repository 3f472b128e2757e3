from .predictor import Predictor
from .setup import setup
from .trainer import (MODEL_CONFIG_CHECKS, NUM_CLASSES_KEYS, TRAINER_REGISTRY, Trainer, register_num_classes_key,
                      trainer_class)
