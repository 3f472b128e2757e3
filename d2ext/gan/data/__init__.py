"""GAN data: image-only and unpaired dataset types, the GAN mapper, the bundled datasets."""
from . import builtin  # noqa: F401  registers shapes_filled2outlined_<split>, shapes_filled_vs_outlined_<split>, digits_gan_<split>
from .image_files import (count_image_channels, load_image_files, load_unpaired, log_channel_conversions,
                          register_image_files, register_unpaired, unpaired_metadata)
from .mapper import GANDatasetMapper, build_gan_augmentations
