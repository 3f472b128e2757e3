"""DCGAN and CycleGAN (detectron2's META_ARCH_REGISTRY), driven by GANTrainer through the phase protocol of gan.py."""
from .cyclegan import CycleGAN, ImagePool
from .dcgan import DCGAN, DCGANDiscriminator, DCGANGenerator
from .gan import frozen, images_to_unit_range, init_gan_weights, num_channels, unit_range_to_uint8
