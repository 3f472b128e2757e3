"""DCGAN (Radford et al., 2016) as a detectron2 meta-architecture, trained by d2ext's GANTrainer."""
import math

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from torch import nn

from .gan import frozen, images_to_unit_range, init_gan_weights, num_channels, unit_range_to_uint8

__all__ = ["DCGAN", "DCGANGenerator", "DCGANDiscriminator", "generate"]

DCGAN_IMAGE_SIZES = (32, 64, 128)


def _num_blocks(image_size):
    """Up-sampling blocks between the 4x4 seed and `image_size` (32: 3, 64: 4, 128: 5)."""
    if image_size not in DCGAN_IMAGE_SIZES:
        raise ValueError(f"MODEL.DCGAN.IMAGE_SIZE = {image_size}: choose one of {DCGAN_IMAGE_SIZES}.")
    return int(math.log2(image_size)) - 2


class DCGANGenerator(nn.Sequential):
    """
    (N, latent_dim, 1, 1) noise -> (N, channels, S, S) images in [-1, 1]: a 4x4 transposed conv, then
    stride-2 transposed convs halving the channels (ngf * 2**k ... ngf), BN and ReLU between, tanh last.
    At S = 64 this is the generator of PyTorch's DCGAN example, module for module.
    """

    def __init__(self, latent_dim, channels, width, image_size):
        blocks = _num_blocks(image_size)
        widths = [width * 2 ** k for k in reversed(range(blocks))]  # e.g. [8w, 4w, 2w, w] at 64 px
        layers = [nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        super().__init__(*layers)


class DCGANDiscriminator(nn.Sequential):
    """
    (N, channels, S, S) images in [-1, 1] -> (N,) real-vs-fake logits: stride-2 convs doubling the
    channels (ndf ... ndf * 2**k) with BN (not on the first) and LeakyReLU(0.2), then a 4x4 conv to one
    logit. PyTorch's DCGAN example ends in a sigmoid; the logits go to BCE-with-logits instead (same loss).
    """

    def __init__(self, channels, width, image_size):
        blocks = _num_blocks(image_size)
        widths = [width * 2 ** k for k in range(blocks)]  # e.g. [w, 2w, 4w, 8w] at 64 px
        layers = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), nn.Flatten(0)]
        super().__init__(*layers)


@META_ARCH_REGISTRY.register()
class DCGAN(nn.Module):
    """
    Generator and discriminator of DCGAN with the non-saturating BCE loss (see gan.py for how
    GANTrainer drives the phases).

    Training input: detectron2's ``list[dict]``, each with "image": a (C, S, S) uint8 tensor in
    INPUT.FORMAT (GANDatasetMapper; C = 1 for "L", else 3). Each real image gets one fake.
    Training output: an iterator of two phases, as PyTorch's DCGAN example steps them:
        ("discriminator", {"loss_D_real", "loss_D_fake"}): real images vs G(z).detach();
        ("generator", {"loss_G"}): the updated discriminator on the same G(z), which keeps its graph.

    Inference input: dicts with "seed" (int: the noise comes from a CPU generator seeded with it, so a
    seed gives the same image on any device) or "latent" (a (latent_dim,) float tensor).
    Inference output: one dict per input with "generated": a (C, S, S) uint8 tensor in INPUT.FORMAT.
    The generator runs in eval mode (BN with running statistics).
    """

    optimizer_groups = {"discriminator": ("discriminator",), "generator": ("generator",)}
    samples_from_seeds = True

    @configurable
    def __init__(self, *, generator: nn.Module, discriminator: nn.Module, latent_dim: int):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        init_gan_weights(self)
        self.register_buffer("_device_anchor", torch.zeros(0), False)

    @classmethod
    def from_config(cls, cfg):
        dcgan = cfg.MODEL.DCGAN
        channels = num_channels(cfg.INPUT.FORMAT)
        if cfg.INPUT.GAN.IMAGE_SIZE != dcgan.IMAGE_SIZE:
            raise ValueError(f"INPUT.GAN.IMAGE_SIZE = {cfg.INPUT.GAN.IMAGE_SIZE} but MODEL.DCGAN.IMAGE_SIZE = "
                             f"{dcgan.IMAGE_SIZE}: the discriminator takes images of the generator's size. Set both alike.")
        return {
            "generator": DCGANGenerator(dcgan.LATENT_DIM, channels, dcgan.GENERATOR_CHANNELS, dcgan.IMAGE_SIZE),
            "discriminator": DCGANDiscriminator(channels, dcgan.DISCRIMINATOR_CHANNELS, dcgan.IMAGE_SIZE),
            "latent_dim": dcgan.LATENT_DIM,
        }

    @property
    def device(self):
        return self._device_anchor.device

    def forward(self, batched_inputs):
        if self.training:
            return self.training_phases(images_to_unit_range([x["image"] for x in batched_inputs], self.device))
        return generate(batched_inputs, self.generator, self.latent_dim, self.device)

    def training_phases(self, real):
        """real: (N, C, S, S) in [-1, 1] -> the two (optimizer name, loss dict) phases."""
        fake = self.generator(torch.randn(len(real), self.latent_dim, 1, 1, device=self.device))
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())
        yield "discriminator", {
            "loss_D_real": F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)),
            "loss_D_fake": F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)),
        }
        with frozen(self.discriminator):  # the generator's step needs no discriminator weight gradients
            fake_logits = self.discriminator(fake)
        yield "generator", {"loss_G": F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))}


def generate(batched_inputs, generator, latent_dim, device):
    """
    DCGAN's inference, whatever runs the generator: `generator` maps (N, latent_dim, 1, 1) noise to (N, C, S, S)
    images in [-1, 1]. The noise of an input is its "latent", or comes from a CPU generator seeded with its
    "seed", so a seed gives the same image on any device and backend. Returns [{"generated": (C, S, S) uint8}].
    """
    def latent(x):
        if "latent" in x:
            return torch.as_tensor(x["latent"], dtype=torch.float32)
        return torch.randn(latent_dim, generator=torch.Generator().manual_seed(int(x["seed"])))
    images = generator(torch.stack([latent(x) for x in batched_inputs]).to(device)[..., None, None])
    return [{"generated": image} for image in unit_range_to_uint8(images)]
