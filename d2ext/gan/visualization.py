"""Pictures of GAN outputs: grids of samples and CycleGAN's source -> translated -> reconstructed strips."""
import math

import numpy as np
from detectron2.data.detection_utils import convert_image_to_rgb

__all__ = ["image_grid", "translation_strips"]


def image_grid(images, image_format, num_columns=None, padding=2):
    """
    Args:
        images: sequence of (C, H, W) uint8 tensors of one size, in INPUT.FORMAT `image_format` ("L", "RGB", "BGR").
        num_columns: images per row; default: the smallest count that gives a square or wider grid.
    Returns:
        (H', W', 3) uint8 RGB: the images in rows, separated by `padding` white pixels.
    """
    num_columns = num_columns or math.ceil(math.sqrt(len(images)))
    num_rows = math.ceil(len(images) / num_columns)
    height, width = images[0].shape[-2:]
    grid = np.full((num_rows * (height + padding) + padding, num_columns * (width + padding) + padding, 3), 255, np.uint8)
    for index, image in enumerate(images):
        y, x = padding + (index // num_columns) * (height + padding), padding + (index % num_columns) * (width + padding)
        grid[y:y + height, x:x + width] = convert_image_to_rgb(image.permute(1, 2, 0).cpu().numpy(), image_format)
    return grid


def translation_strips(sources, outputs, image_format):
    """
    CycleGAN strips, one row per image: source | translated | reconstructed (A -> B -> A or B -> A -> B).
    `sources`: (C, H, W) uint8 tensors; `outputs`: the model's output dicts for them. Returns (H', W', 3) uint8 RGB.
    """
    return image_grid([image for source, output in zip(sources, outputs)
                       for image in (source, output["translated"], output["reconstructed"])], image_format, num_columns=3)
