"""
What d2ext's GAN meta-architectures (DCGAN, CycleGAN) share: pixel scaling to [-1, 1] and back,
DCGAN-style initialisation, and the protocol GANTrainer drives them by.

Protocol. A GAN meta-architecture has

* ``optimizer_groups``: dict, optimizer name -> names of the sub-modules that optimizer updates,
  e.g. ``{"discriminator": ("discriminator",), "generator": ("generator",)}``;
* ``forward(batched_inputs)`` in training returns an iterator of ``(optimizer name, loss dict)``. The
  trainer back-propagates each loss dict and steps that optimizer before asking for the next one, so a
  later phase sees the networks updated by the earlier ones and may reuse their tensors (the
  generator's output of the discriminator phase, as PyTorch's DCGAN example does);
* ``samples_from_seeds`` (bool): evaluation feeds ``{"seed": int}`` dicts (DCGAN) instead of images.
"""
import torch
from torch import nn

__all__ = ["GAN_INPUT_FORMATS", "frozen", "images_to_unit_range", "unit_range_to_uint8", "init_gan_weights", "num_channels"]

GAN_INPUT_FORMATS = {"L": 1, "RGB": 3, "BGR": 3}


def num_channels(image_format):
    """Channels of a GAN's images for INPUT.FORMAT `image_format` ("L": 1, "RGB"/"BGR": 3)."""
    if image_format not in GAN_INPUT_FORMATS:
        raise ValueError(f"INPUT.FORMAT = {image_format!r}: GANs take {sorted(GAN_INPUT_FORMATS)}.")
    return GAN_INPUT_FORMATS[image_format]


def images_to_unit_range(images, device):
    """list of (C, H, W) uint8 tensors (same size) -> (N, C, H, W) float32 in [-1, 1] on `device`."""
    return torch.stack(images).to(device, non_blocking=True).float().div_(127.5).sub_(1.0)


def unit_range_to_uint8(images):
    """(..., C, H, W) float in [-1, 1] -> the same shape in uint8 [0, 255], rounded."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def init_gan_weights(module):
    """DCGAN's initialisation (also CycleGAN's): conv weights N(0, 0.02); norm scales N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class frozen:
    """Context: `module`'s parameters need no gradient inside (gradients still flow through it to its inputs)."""

    def __init__(self, module):
        self.params = [p for p in module.parameters() if p.requires_grad]

    def __enter__(self):
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc):
        for p in self.params:
            p.requires_grad_(True)
