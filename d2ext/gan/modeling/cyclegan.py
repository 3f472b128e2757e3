"""CycleGAN (Zhu et al., 2017) as a detectron2 meta-architecture, trained by d2ext's GANTrainer."""
import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from torch import nn

from ...modeling import image_size, map_by_group
from ..domains import DOMAINS
from .gan import frozen, images_to_unit_range, init_gan_weights, num_channels, unit_range_to_uint8

__all__ = ["CycleGAN", "ImagePool", "translate"]

# MODEL.CYCLEGAN.NORM -> norm layer of c channels.
_NORMS = {
    "InstanceNorm": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "BN": nn.BatchNorm2d,
}


def _conv_norm_act(in_channels, out_channels, norm, activation=None, conv=nn.Conv2d, **conv_args):
    """[conv, norm, activation] layers (no activation if None)."""
    # The original keeps the conv bias before InstanceNorm and drops it before BN (both cancel it).
    layers = [conv(in_channels, out_channels, bias=norm == "InstanceNorm", **conv_args), _NORMS[norm](out_channels)]
    return layers + [activation] if activation is not None else layers


class _ResidualBlock(nn.Module):
    """x + (reflect pad, 3x3 conv, norm, ReLU, reflect pad, 3x3 conv, norm)(x); channels and size kept."""

    def __init__(self, channels, norm):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), *_conv_norm_act(channels, channels, norm, nn.ReLU(True), kernel_size=3),
            nn.ReflectionPad2d(1), *_conv_norm_act(channels, channels, norm, kernel_size=3),
        )

    def forward(self, x):
        return x + self.conv_block(x)


def _resnet_generator(channels, width, num_blocks, norm):
    """
    (N, C, H, W) -> (N, C, H, W) in [-1, 1], H and W divisible by 4: the paper's ResNet generator (7x7 conv
    to `width`, two stride-2 convs to 4 * width, `num_blocks` residual blocks, two stride-2 transposed convs
    back to `width`, 7x7 conv, tanh), layer for layer the ResnetGenerator (no dropout) of
    pytorch-CycleGAN-and-pix2pix, so that its state dict maps by prefix ("model." -> "generator_ab.").
    """
    layers = [nn.ReflectionPad2d(3), *_conv_norm_act(channels, width, norm, nn.ReLU(True), kernel_size=7)]
    for c in (width, 2 * width):
        layers += _conv_norm_act(c, 2 * c, norm, nn.ReLU(True), kernel_size=3, stride=2, padding=1)
    layers += [_ResidualBlock(4 * width, norm) for _ in range(num_blocks)]
    for c in (4 * width, 2 * width):
        layers += _conv_norm_act(c, c // 2, norm, nn.ReLU(True), nn.ConvTranspose2d,
                                 kernel_size=3, stride=2, padding=1, output_padding=1)
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, kernel_size=7), nn.Tanh()]
    return nn.Sequential(*layers)


def _patch_discriminator(channels, width, num_layers, norm):
    """
    (N, C, H, W) -> (N, 1, H', W') real-vs-fake scores of overlapping patches (PatchGAN; 3 layers: 70x70
    patches): `num_layers` stride-2 4x4 convs (channels width * min(2**i, 8), no norm on the first), a
    stride-1 4x4 conv, then a 4x4 conv to one channel; LeakyReLU(0.2) between. Layer for layer the
    NLayerDiscriminator of pytorch-CycleGAN-and-pix2pix.
    """
    widths = [width * min(2 ** i, 8) for i in range(num_layers + 1)]
    layers = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for i, (c_in, c_out) in enumerate(zip(widths, widths[1:]), 1):
        layers += _conv_norm_act(c_in, c_out, norm, nn.LeakyReLU(0.2, True),
                                 kernel_size=4, stride=2 if i < num_layers else 1, padding=1)
    layers += [nn.Conv2d(widths[-1], 1, 4, 1, 1)]
    return nn.Sequential(*layers)


class ImagePool:
    """
    The history of generated images that a discriminator sees (Shrivastava et al., 2017; CycleGAN's pool of
    `size` images; 0: no history). Draws from torch's global RNG. Not a module: checkpoints do not save it,
    and a resumed run starts with an empty pool.
    """

    def __init__(self, size):
        self.size = size
        self.images = []

    def query(self, images):
        """
        (N, C, H, W) -> (N, C, H, W), per image: while the pool is not full, the image itself (stored); then
        with probability 0.5 a stored image (replaced by the new one), else the new one. Stores detached copies.
        """
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:
                index = int(torch.randint(len(self.images), ()))
                out.append(self.images[index])
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


def _lsgan_loss(scores, real):
    """Least-squares GAN loss: mean (scores - 1)^2 if `real`, else mean scores^2."""
    return F.mse_loss(scores, torch.ones_like(scores) if real else torch.zeros_like(scores))


def _check_sides(height, width):
    if height % 4 or width % 4:
        raise ValueError(f"CycleGAN takes images whose sides are multiples of 4 (its generators down-sample "
                         f"by 4), got {height}x{width}.")


def _domain(x, default=None):
    """The "domain" of input dict `x` ("A" or "B"; `default` if absent)."""
    domain = x.get("domain", default)
    if domain not in DOMAINS:
        raise ValueError(f'An input has "domain" = {domain!r}; CycleGAN takes "A" or "B".')
    return domain


@META_ARCH_REGISTRY.register()
class CycleGAN(nn.Module):
    """
    Unpaired translation between image domains A and B: ResNet generators G_AB (A -> B) and G_BA (B -> A),
    PatchGAN discriminators D_A (judges images of A) and D_B (of B), the least-squares GAN loss, the
    cycle-consistency loss and the identity loss (see gan.py for how GANTrainer drives the phases).

    Training input: detectron2's ``list[dict]``, each with "image": a (C, H, W) uint8 tensor in INPUT.FORMAT
    (C = 1 for "L", else 3; H and W divisible by 4; one size per domain) and "domain": "A" or "B". A batch
    needs both domains. With real_a, real_b its images of A and of B, fake_b = G_AB(real_a),
    fake_a = G_BA(real_b), w = CYCLE_LOSS_WEIGHT and w_idt = w * IDENTITY_LOSS_WEIGHT, training output is an
    iterator of two phases (mse and l1: mean squared and mean absolute errors):
        ("discriminators", {
            "loss_D_A": (mse(D_A(real_a), 1) + mse(D_A(pool_a(fake_a)), 0)) / 2,
            "loss_D_B": (mse(D_B(real_b), 1) + mse(D_B(pool_b(fake_b)), 0)) / 2}),
            pool_x: ImagePool of POOL_SIZE earlier fakes of domain x;
        ("generators", {  # the discriminators updated by phase 1, the fakes of phase 1
            "loss_G_AB": mse(D_B(fake_b), 1), "loss_G_BA": mse(D_A(fake_a), 1),
            "loss_cycle_A": w * l1(G_BA(fake_b), real_a), "loss_cycle_B": w * l1(G_AB(fake_a), real_b),
            if w_idt > 0, the identity of each domain's images under the generator into that domain:
            "loss_idt_A": w_idt * l1(G_BA(real_a), real_a), "loss_idt_B": w_idt * l1(G_AB(real_b), real_b)}).

    Inference input: dicts with "image" as in training and optionally "domain", the image's domain ("A" by
    default, or "B"). Domains and sizes may be mixed in a batch.
    Inference output: one dict per input, on the model's device, with
        "translated": (C, H, W) uint8, the image in the other domain,
        "reconstructed": (C, H, W) uint8, the translation taken back to the input's domain (A -> B -> A),
        "direction": "AB" or "BA".
    """

    optimizer_groups = {  # the trainer steps the groups in this order
        "discriminators": ("discriminator_a", "discriminator_b"),
        "generators": ("generator_ab", "generator_ba"),
    }
    samples_from_seeds = False

    @configurable
    def __init__(self, *, generator_ab: nn.Module, generator_ba: nn.Module, discriminator_a: nn.Module,
                 discriminator_b: nn.Module, cycle_loss_weight: float = 10.0, identity_loss_weight: float = 0.5,
                 pool_size: int = 50):
        super().__init__()
        self.generator_ab = generator_ab
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        self.discriminator_b = discriminator_b
        self.cycle_loss_weight = cycle_loss_weight
        self.identity_loss_weight = identity_loss_weight
        self.pool_a = ImagePool(pool_size)  # fakes of A, for D_A
        self.pool_b = ImagePool(pool_size)
        init_gan_weights(self)
        self.register_buffer("_device_anchor", torch.zeros(0), False)

    @classmethod
    def from_config(cls, cfg):
        c = cfg.MODEL.CYCLEGAN
        if c.NORM not in _NORMS:
            raise ValueError(f"MODEL.CYCLEGAN.NORM = {c.NORM!r}: choose one of {sorted(_NORMS)}.")
        for key, minimum in (("GENERATOR_CHANNELS", 1), ("GENERATOR_BLOCKS", 0), ("DISCRIMINATOR_CHANNELS", 1),
                             ("DISCRIMINATOR_LAYERS", 1), ("POOL_SIZE", 0), ("CYCLE_LOSS_WEIGHT", 0),
                             ("IDENTITY_LOSS_WEIGHT", 0)):
            if c[key] < minimum:
                raise ValueError(f"MODEL.CYCLEGAN.{key} = {c[key]}: must be >= {minimum}.")
        channels = num_channels(cfg.INPUT.FORMAT)
        return {
            "generator_ab": _resnet_generator(channels, c.GENERATOR_CHANNELS, c.GENERATOR_BLOCKS, c.NORM),
            "generator_ba": _resnet_generator(channels, c.GENERATOR_CHANNELS, c.GENERATOR_BLOCKS, c.NORM),
            "discriminator_a": _patch_discriminator(channels, c.DISCRIMINATOR_CHANNELS, c.DISCRIMINATOR_LAYERS, c.NORM),
            "discriminator_b": _patch_discriminator(channels, c.DISCRIMINATOR_CHANNELS, c.DISCRIMINATOR_LAYERS, c.NORM),
            "cycle_loss_weight": c.CYCLE_LOSS_WEIGHT,
            "identity_loss_weight": c.IDENTITY_LOSS_WEIGHT,
            "pool_size": c.POOL_SIZE,
        }

    @property
    def device(self):
        return self._device_anchor.device

    def forward(self, batched_inputs):
        if not self.training:
            return self.inference(batched_inputs)
        # Checked here, not in the lazily run training_phases, so that a bad batch fails at the call.
        domains = [_domain(x) for x in batched_inputs]
        if set(domains) != set(DOMAINS):
            raise ValueError(f"CycleGAN's training batch needs images of both domains, got {sorted(set(domains))}; "
                             'the unpaired GAN dataset gives each batch images of "A" and of "B".')
        real_a, real_b = (self.preprocess_images([x["image"] for x, d in zip(batched_inputs, domains) if d == side])
                          for side in DOMAINS)
        return self.training_phases(real_a, real_b)

    def preprocess_images(self, images):
        """list of (C, H, W) uint8 tensors of one size -> (N, C, H, W) float in [-1, 1] on the model's device."""
        _check_sides(*images[0].shape[-2:])
        return images_to_unit_range(images, self.device)

    def training_phases(self, real_a, real_b):
        """real_a, real_b: (N_A, C, H, W), (N_B, C, H', W') in [-1, 1] -> the two (optimizer name, loss dict) phases."""
        fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
        yield "discriminators", {
            "loss_D_A": 0.5 * (_lsgan_loss(self.discriminator_a(real_a), True)
                               + _lsgan_loss(self.discriminator_a(self.pool_a.query(fake_a.detach())), False)),
            "loss_D_B": 0.5 * (_lsgan_loss(self.discriminator_b(real_b), True)
                               + _lsgan_loss(self.discriminator_b(self.pool_b.query(fake_b.detach())), False)),
        }
        with frozen(self.discriminator_a), frozen(self.discriminator_b):
            scores_a, scores_b = self.discriminator_a(fake_a), self.discriminator_b(fake_b)
        losses = {
            "loss_G_AB": _lsgan_loss(scores_b, True),
            "loss_G_BA": _lsgan_loss(scores_a, True),
            "loss_cycle_A": self.cycle_loss_weight * F.l1_loss(self.generator_ba(fake_b), real_a),
            "loss_cycle_B": self.cycle_loss_weight * F.l1_loss(self.generator_ab(fake_a), real_b),
        }
        if self.identity_loss_weight > 0:
            weight = self.cycle_loss_weight * self.identity_loss_weight
            losses["loss_idt_A"] = weight * F.l1_loss(self.generator_ba(real_a), real_a)
            losses["loss_idt_B"] = weight * F.l1_loss(self.generator_ab(real_b), real_b)
        yield "generators", losses

    @torch.no_grad()
    def inference(self, batched_inputs):
        """Translations and reconstructions of the inputs, one generator pass per (domain, image size)."""
        return translate(batched_inputs, {"AB": self.generator_ab, "BA": self.generator_ba}, self.device)


def translate(batched_inputs, generators, device):
    """
    CycleGAN's inference, whatever runs the generators: `generators` maps "AB" and "BA" to functions of
    (N, C, H, W) float images in [-1, 1] to the translated images. Inputs of one (domain, image size) go in one
    call, stacked on `device`. Returns one dict per input: "translated", "reconstructed" (uint8) and "direction".
    """
    def translate_group(group, inputs):
        domain, size = group
        _check_sides(*size)
        direction = "AB" if domain == "A" else "BA"
        translated = generators[direction](images_to_unit_range([x["image"] for x in inputs], device))
        reconstructed = generators[direction[::-1]](translated)
        return [{"translated": t, "reconstructed": r, "direction": direction}
                for t, r in zip(unit_range_to_uint8(translated), unit_range_to_uint8(reconstructed))]
    return map_by_group(batched_inputs, translate_group, key=lambda x: (_domain(x, "A"), image_size(x)))
