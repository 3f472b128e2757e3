#!/usr/bin/env python
"""
Training iterations/s of d2ext's DCGAN (configs/digits/gan/dcgan.yaml at 64 px, RGB, with the example's
widths; the Base-GAN Adam settings) beside the training loop of PyTorch's DCGAN example
(github.com/pytorch/examples, dcgan/main.py) on the same batch of images, in one process, alternating
rounds; the table ends with the d2ext / example ratio.

One d2ext iteration is one ``MultiOptimizerTrainer.run_step()`` (what GANTrainer runs): the model's
discriminator then generator phase, each backward and Adam step, detectron2's metric writing. One example
iteration is the example's loop body: the same two updates with BCELoss on a sigmoid, plus its ``.item()``
calls for logging (the print itself is left out). Both sides get the same --batch shapes_cls_val images, mapped
once by d2ext's GANDatasetMapper at 64 px: d2ext gets them as its mapped dicts of (3, 64, 64) uint8 tensors,
the example as the same uint8 batch, converted to floats in [-1, 1] (its ToTensor + Normalize(0.5, 0.5))
inside its timed step, as d2ext converts inside its own. Before timing, the parameter counts of both
generators and discriminators are checked equal, and one step on a few images from the same weights and
noise is run on each side (in float32: TF32 off on CUDA): its losses are printed (they should agree to ~1e-5).

    python benchmarks/dcgan_speed.py [--iters 5 (CPU), 100 (CUDA)] [--rounds 3] [--batch 64] [--device cuda|cpu]
"""
import contextlib
import copy
import itertools
import os
import sys

import torch
import torch.nn as nn
import torch.optim as optim
from detectron2.data import DatasetCatalog
from detectron2.utils.events import EventStorage
from tabulate import tabulate

from d2ext.data import build_mapper
from d2ext.config import load_config
from d2ext.gan import GANTrainer
from d2ext.gan.trainer import MultiOptimizerTrainer
from speed import run_conditions, side_by_side, speed_argument_parser, trainer_iteration

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs/digits/gan/dcgan.yaml")
DATASET = "shapes_cls_val"
SANITY_BATCH = 4  # images of the first-step loss comparison
LOSS_TOLERANCE = 1e-5

# ---------------------------------------------------------------------------------------------------------
# PyTorch's DCGAN example (pytorch/examples, dcgan/main.py), transcribed (no network access here): its
# defaults nz 100, ngf 64, ndf 64, nc 3 (64x64 RGB images), weights_init, Generator, Discriminator,
# BCELoss, Adam(lr 0.0002, betas (0.5, 0.999)) and, in ReferenceDCGAN.step, its loop body.
nz = 100
ngf = 64
ndf = 64
nc = 3
lr = 0.0002
beta1 = 0.5
real_label = 1
fake_label = 0


# custom weights initialization called on netG and netD
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, ngpu):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(     nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2,     ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(    ngf,      nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 64 x 64
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)
        return output


class Discriminator(nn.Module):
    def __init__(self, ngpu):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        if input.is_cuda and self.ngpu > 1:
            output = nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        else:
            output = self.main(input)

        return output.view(-1, 1).squeeze(1)


class ReferenceDCGAN:
    """The example's networks, loss and optimizers on `device`; ``step(uint8_images)`` is its loop body."""

    def __init__(self, device):
        self.device = device
        self.netG = Generator(1).to(device)
        self.netG.apply(weights_init)
        self.netD = Discriminator(1).to(device)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizerD = optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizerG = optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))

    def step(self, uint8_images):
        """One iteration on (N, nc, 64, 64) uint8 images -> the example's logged (Loss_D, Loss_G, D(x), D(G(z)) x2)."""
        device, netD, netG, criterion = self.device, self.netD, self.netG, self.criterion
        # the example's transforms.ToTensor() and transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        data = (uint8_images.to(device).float().div_(255).sub_(0.5).div_(0.5),)

        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        real_cpu = data[0].to(device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label,
                           dtype=real_cpu.dtype, device=device)

        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        # train with fake
        noise = torch.randn(batch_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()

        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()

        return errD.item(), errG.item(), D_x, D_G_z1, D_G_z2
# ---------------------------------------------------------------------------------------------------------


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def parameter_counts(model, reference):
    """{"G": (d2ext, example), "D": (d2ext, example)} parameter counts of the generators and discriminators."""
    return {"G": (num_params(model.generator), num_params(reference.netG)),
            "D": (num_params(model.discriminator), num_params(reference.netD))}


def d2ext_trainer(cfg, model, batch, precision=None):
    """
    A MultiOptimizerTrainer of `model` (GANTrainer's optimizers) whose data loader repeats `batch` forever,
    autocasting to `precision` (None: fp32).
    """
    return MultiOptimizerTrainer(model, itertools.repeat(batch), GANTrainer.build_optimizer(cfg, model),
                                 torch.device(cfg.MODEL.DEVICE).type, precision)


def copy_weights(source, target):
    """`source`'s state into `target`, entry by entry in state_dict order (checked: same shapes)."""
    src, dst = source.state_dict(), target.state_dict()
    assert len(src) == len(dst), (len(src), len(dst))
    with torch.no_grad():
        for (src_key, s), (dst_key, d) in zip(src.items(), dst.items()):
            assert s.shape == d.shape, (src_key, tuple(s.shape), dst_key, tuple(d.shape))
            d.copy_(s)


@contextlib.contextmanager
def without_tf32():
    """
    Convolutions and matrix products in full float32 inside (on CUDA, cuDNN convolutions default to TF32,
    whose ~1e-3 relative rounding would hide a real difference between the two sides' losses).
    """
    flags = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = flags


@without_tf32()
def first_step_losses(cfg, model, reference, batch, seed=0):
    """
    ((d2ext loss_D, loss_G), (example loss_D, loss_G)) of one training step of copies of `model` and
    `reference` holding the example's weights, on `batch`, with torch seeded alike before each step
    (so that both draw the same noise), in full float32. loss_D is the sum of the real and fake terms.
    """
    reference = copy.deepcopy(reference)
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)  # the example's layout: same rounding
    copy_weights(reference.netG.main, model.generator)
    copy_weights(reference.netD.main, model.discriminator)
    trainer = d2ext_trainer(cfg, model, batch)
    with EventStorage(0) as storage:
        torch.manual_seed(seed)
        trainer_iteration(trainer, storage)
        latest = {k: v for k, (v, _) in storage.latest().items()}
    torch.manual_seed(seed)
    ref_D, ref_G = reference.step(torch.stack([d["image"] for d in batch]))[:2]
    return (latest["loss_D_real"] + latest["loss_D_fake"], latest["loss_G"]), (ref_D, ref_G)


def synchronized(step, device):
    """`step`, then (on CUDA) waiting for the device, so that a timer around it sees the work done."""
    if not device.startswith("cuda"):
        return step

    def step_and_sync():
        step()
        torch.cuda.synchronize(device)

    return step_and_sync


def dcgan_setup(batch_size, device):
    """
    (cfg, d2ext DCGAN, ReferenceDCGAN, batch of mapped dicts, (N, 3, 64, 64) uint8 images) at the example's
    sizes on `device`; the parameter counts of both sides checked equal.
    """
    torch.manual_seed(0)
    size = 64
    # The example's networks: 64 px RGB, nz 100, ngf = ndf = 64 (the digits config is narrower).
    cfg = load_config(CONFIG, ["MODEL.DCGAN.IMAGE_SIZE", size, "INPUT.GAN.IMAGE_SIZE", size, "INPUT.GAN.RESIZE", size,
                               "INPUT.FORMAT", "RGB", "MODEL.DEVICE", device, "MODEL.DCGAN.LATENT_DIM", nz,
                               "MODEL.DCGAN.GENERATOR_CHANNELS", ngf, "MODEL.DCGAN.DISCRIMINATOR_CHANNELS", ndf])
    assert (cfg.MODEL.DCGAN.LATENT_DIM, cfg.MODEL.DCGAN.GENERATOR_CHANNELS, cfg.MODEL.DCGAN.DISCRIMINATOR_CHANNELS) == (nz, ngf, ndf)
    mapper = build_mapper(cfg, is_train=True)
    batch = [mapper(d) for d in DatasetCatalog.get(DATASET)[:batch_size]]
    assert len(batch) == batch_size, f"{DATASET} has only {len(batch)} images"
    uint8_images = torch.stack([d["image"] for d in batch])
    assert uint8_images.shape[1:] == (nc, size, size), uint8_images.shape
    model = GANTrainer.build_model(cfg)
    reference = ReferenceDCGAN(torch.device(device))
    counts = parameter_counts(model, reference)
    assert all(ours == theirs for ours, theirs in counts.values()), counts
    return cfg, model, reference, batch, uint8_images


def main(argv=None):
    parser = speed_argument_parser(__doc__, iters=None)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    if args.iters is None:
        args.iters = 100 if args.device.startswith("cuda") else 5
    cfg, model, reference, batch, uint8_images = dcgan_setup(args.batch, args.device)
    counts = parameter_counts(model, reference)

    (d2ext_D, d2ext_G), (ref_D, ref_G) = first_step_losses(cfg, model, reference, batch[:SANITY_BATCH])
    difference = max(abs(d2ext_D - ref_D), abs(d2ext_G - ref_G))

    trainer = d2ext_trainer(cfg, model, batch)
    with EventStorage(0) as storage:
        ours, theirs = side_by_side(synchronized(lambda: trainer_iteration(trainer, storage), args.device),
                                    synchronized(lambda: reference.step(uint8_images), args.device),
                                    1, args.iters, args.rounds)
    table = tabulate([("train", ours, theirs, ours * args.batch, theirs * args.batch, ours / theirs)],
                     headers=("phase", "d2ext it/s", "example it/s", "d2ext img/s", "example img/s", "ratio"),
                     tablefmt="github", floatfmt=("", ".3f", ".3f", ".1f", ".1f", ".2f"))

    print(f"DCGAN 64x64 RGB (nz {nz}, ngf {ngf}, ndf {ndf}) vs PyTorch's DCGAN example, {DATASET} images, "
          f"batch {args.batch}, {args.device}, {run_conditions(args)}")
    print(f"parameters: G {counts['G'][0]:,} (example {counts['G'][1]:,}), D {counts['D'][0]:,} (example {counts['D'][1]:,})")
    print(f"first step, same weights and noise, batch {SANITY_BATCH}, float32: d2ext loss_D {d2ext_D:.6f} loss_G {d2ext_G:.6f}; "
          f"example loss_D {ref_D:.6f} loss_G {ref_G:.6f}: max difference {difference:.1e}, "
          f"{'agree' if difference <= LOSS_TOLERANCE else 'DISAGREE'} (tolerance {LOSS_TOLERANCE:g})")
    print(table)


if __name__ == "__main__":
    sys.exit(main())
