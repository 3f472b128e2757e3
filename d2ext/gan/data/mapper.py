"""The dataset mapper of the GANs and its augmentations."""
from ...data import MAPPER_REGISTRY, ImageRecordMapper
from ...data.transforms import build_random_flip, resize_and_crop

__all__ = ["GANDatasetMapper", "build_gan_augmentations"]


def build_gan_augmentations(cfg, is_train):
    """
    The INPUT.GAN pipeline: list of Augmentations producing IMAGE_SIZE x IMAGE_SIZE images: shortest edge
    to RESIZE, crop (random in training when RESIZE > IMAGE_SIZE, else central), training flip.
    """
    resize, size = cfg.INPUT.GAN.RESIZE, cfg.INPUT.GAN.IMAGE_SIZE
    augmentations = resize_and_crop(resize, size, ("INPUT.GAN.RESIZE", "INPUT.GAN.IMAGE_SIZE"),
                                    random_crop=is_train and resize > size)
    return augmentations + (build_random_flip(cfg) if is_train else [])


@MAPPER_REGISTRY.register()
class GANDatasetMapper(ImageRecordMapper):
    """
    Image record {"file_name", ...} -> the same dict (other keys, such as "domain" or "label", pass through)
    plus "image": a (C, S, S) uint8 tensor in INPUT.FORMAT (C = 1 for "L", else 3), S = INPUT.GAN.IMAGE_SIZE,
    after the INPUT.GAN augmentations (build_gan_augmentations).
    """

    @classmethod
    def from_config(cls, cfg, is_train=True):
        return {"augmentations": build_gan_augmentations(cfg, is_train), "image_format": cfg.INPUT.FORMAT}
