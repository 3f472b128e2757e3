"""
GANs: DCGAN and CycleGAN as detectron2 meta-architectures, trained by GANTrainer (one optimizer per network group),
image-only and unpaired dataset types, the GAN mapper, FID/KID evaluation in a d2ext classifier's features, and
sample grids.
"""
from . import data, evaluation, export, modeling, trainer  # noqa: F401  fill the registries
from .config import add_gan_config
from .trainer import GANTrainer
