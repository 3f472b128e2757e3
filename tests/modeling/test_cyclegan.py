"""CycleGAN: networks, inference outputs, the two training phases and their losses, the image pool, bad inputs."""
import pytest
import torch
import torch.nn.functional as F
from detectron2.modeling import build_model

from d2ext.config import get_cfg
from d2ext.gan.modeling import ImagePool
from d2ext.gan.modeling import images_to_unit_range, unit_range_to_uint8


def cyclegan_cfg(*opts):
    """A tiny CycleGAN on the CPU: 8 channels, 2 residual blocks."""
    cfg = get_cfg()
    cfg.merge_from_list(["MODEL.META_ARCHITECTURE", "CycleGAN", "MODEL.DEVICE", "cpu", "INPUT.FORMAT", "RGB",
                         "MODEL.CYCLEGAN.GENERATOR_CHANNELS", 8, "MODEL.CYCLEGAN.GENERATOR_BLOCKS", 2,
                         "MODEL.CYCLEGAN.DISCRIMINATOR_CHANNELS", 8, *opts])
    return cfg


def build(*opts, seed=0):
    torch.manual_seed(seed)
    return build_model(cyclegan_cfg(*opts))


def random_image(channels, height, width, generator):
    return torch.randint(0, 256, (channels, height, width), dtype=torch.uint8, generator=generator)


def training_batch(domains="AAB", channels=3, size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [{"image": random_image(channels, size, size, generator), "domain": d} for d in domains]


def smooth_batch(domains, size, seed=0):
    """Training inputs: bilinear up-samplings of random 4x4 images, which a small generator can reconstruct."""
    coarse = torch.rand(len(domains), 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    images = (F.interpolate(coarse, size=size, mode="bilinear", align_corners=False) * 255).round().to(torch.uint8)
    return [{"image": image, "domain": d} for image, d in zip(images, domains)]


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_networks_are_the_papers():
    """At the default sizes, the parameter counts pytorch-CycleGAN-and-pix2pix prints (11.378 M and 2.765 M)."""
    model = build_model(cyclegan_cfg("MODEL.CYCLEGAN.GENERATOR_CHANNELS", 64, "MODEL.CYCLEGAN.GENERATOR_BLOCKS", 9,
                                     "MODEL.CYCLEGAN.DISCRIMINATOR_CHANNELS", 64))
    assert num_params(model.generator_ab) == num_params(model.generator_ba) == 11378179
    assert num_params(model.discriminator_a) == num_params(model.discriminator_b) == 2764737
    assert model.optimizer_groups == {"discriminators": ("discriminator_a", "discriminator_b"),
                                      "generators": ("generator_ab", "generator_ba")}
    assert list(model.optimizer_groups) == ["discriminators", "generators"]
    assert not model.samples_from_seeds
    assert not any(key.startswith("pool") for key in model.state_dict())


def test_bn_convs_have_no_bias():
    model = build("MODEL.CYCLEGAN.NORM", "BN")
    biases = [m.bias is not None for m in model.generator_ab.modules() if isinstance(m, torch.nn.Conv2d)]
    assert biases == [False, False, False] + [False] * 4 + [True]  # 7x7, 2 down, 2 blocks x 2 convs, output conv
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) > 0


@pytest.mark.parametrize("image_format,channels", [("L", 1), ("RGB", 3)])
def test_inference_translates_each_image_from_its_domain(image_format, channels):
    model = build("INPUT.FORMAT", image_format).eval()
    generator = torch.Generator().manual_seed(1)
    inputs = [{"image": random_image(channels, 32, 32, generator), "domain": "A"},
              {"image": random_image(channels, 32, 32, generator), "domain": "B"},
              {"image": random_image(channels, 32, 32, generator)},  # "A" by default
              {"image": random_image(channels, 16, 24, generator), "domain": "B"}]
    outputs = model(inputs)
    assert [o["direction"] for o in outputs] == ["AB", "BA", "AB", "BA"]
    with torch.no_grad():
        for x, o in zip(inputs, outputs):
            assert set(o) == {"translated", "reconstructed", "direction"}
            there, back = ((model.generator_ab, model.generator_ba) if o["direction"] == "AB"
                           else (model.generator_ba, model.generator_ab))
            translated = there(images_to_unit_range([x["image"]], "cpu"))
            for key, expected in (("translated", translated), ("reconstructed", back(translated))):
                assert o[key].dtype == torch.uint8 and o[key].shape == x["image"].shape
                # The batched and the single-image pass may differ by a rounding step.
                assert (o[key].int() - unit_range_to_uint8(expected)[0].int()).abs().max() <= 1


def test_inference_refuses_sides_not_divisible_by_4():
    model = build().eval()
    with pytest.raises(ValueError, match="multiples of 4"):
        model([{"image": torch.zeros(3, 30, 32, dtype=torch.uint8)}])


def test_training_phases():
    model = build().train()
    batch = training_batch("AAB")
    phases = model(batch)
    name, losses = next(phases)
    assert name == "discriminators" and set(losses) == {"loss_D_A", "loss_D_B"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for group, grads in (("generator", False), ("discriminator", True)):
        for param_name, p in model.named_parameters():
            if param_name.startswith(group):
                assert (p.grad is not None) == grads, param_name

    # The generators' phase must see the discriminators as the optimizer left them: with D_B's last conv
    # weights zeroed, D_B scores every patch with its bias.
    model.zero_grad(set_to_none=True)
    last = model.discriminator_b[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(0.3)
    name, losses = next(phases)
    assert name == "generators"
    assert set(losses) == {"loss_G_AB", "loss_G_BA", "loss_cycle_A", "loss_cycle_B", "loss_idt_A", "loss_idt_B"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    torch.testing.assert_close(losses["loss_G_AB"], torch.tensor((0.3 - 1) ** 2))
    with pytest.raises(StopIteration):
        next(phases)

    real_a = images_to_unit_range([x["image"] for x in batch if x["domain"] == "A"], "cpu")
    with torch.no_grad():
        cycle_a = 10 * F.l1_loss(model.generator_ba(model.generator_ab(real_a)), real_a)
        idt_a = 10 * 0.5 * F.l1_loss(model.generator_ba(real_a), real_a)
    torch.testing.assert_close(losses["loss_cycle_A"].detach(), cycle_a)
    torch.testing.assert_close(losses["loss_idt_A"].detach(), idt_a)

    sum(losses.values()).backward()
    for param_name, p in model.named_parameters():
        assert (p.grad is not None) == param_name.startswith("generator"), param_name
        assert p.requires_grad  # the discriminators are unfrozen again


def test_no_identity_loss_at_weight_0():
    model = build("MODEL.CYCLEGAN.IDENTITY_LOSS_WEIGHT", 0.0).train()
    phases = model(training_batch("AB"))
    next(phases)
    _, losses = next(phases)
    assert set(losses) == {"loss_G_AB", "loss_G_BA", "loss_cycle_A", "loss_cycle_B"}


def test_training_batch_needs_both_domains():
    model = build().train()
    with pytest.raises(ValueError, match="both domains"):
        model(training_batch("AA"))
    with pytest.raises(ValueError, match="'C'"):
        model(training_batch("AC"))


@pytest.mark.parametrize("key,value", [("NORM", "GN"), ("GENERATOR_BLOCKS", -1), ("DISCRIMINATOR_LAYERS", 0),
                                       ("POOL_SIZE", -1), ("CYCLE_LOSS_WEIGHT", -1.0)])
def test_bad_config(key, value):
    with pytest.raises(ValueError, match=f"MODEL.CYCLEGAN.{key} = '?{value}"):
        build_model(cyclegan_cfg(f"MODEL.CYCLEGAN.{key}", value))


def test_image_pool_of_size_0_returns_its_input():
    images = torch.randn(3, 1, 4, 4)
    assert ImagePool(0).query(images) is images


def test_image_pool():
    torch.manual_seed(0)
    pool = ImagePool(2)
    seen = []
    first = torch.randn(2, 1, 4, 4, requires_grad=True)
    torch.testing.assert_close(pool.query(first), first.detach())  # filling the pool
    seen += list(first.detach())
    sources = []
    for _ in range(10):
        images = torch.randn(2, 1, 4, 4)
        out = pool.query(images)
        assert out.shape == images.shape and not out.requires_grad
        for new, returned in zip(images, out):
            if torch.equal(returned, new):
                sources.append("new")
            else:  # an earlier image, maybe of the same batch
                assert any(torch.equal(returned, old) for old in seen)
                sources.append("pool")
            seen.append(new)
    assert {"new", "pool"} == set(sources)  # 20 draws at p = 0.5 with seed 0
    assert len(pool.images) == 2


def test_training_reduces_the_cycle_loss():
    """Steps as GANTrainer takes them, one Adam per optimizer group, on a fixed batch."""
    model = build("MODEL.CYCLEGAN.GENERATOR_BLOCKS", 1, "MODEL.CYCLEGAN.DISCRIMINATOR_LAYERS", 2).train()
    optimizers = {name: torch.optim.Adam([p for m in modules for p in getattr(model, m).parameters()],
                                         lr=2e-4, betas=(0.5, 0.999))
                  for name, modules in model.optimizer_groups.items()}
    batch = smooth_batch("AABB", size=16)
    cycle_losses = []
    for _ in range(30):
        for name, losses in model(batch):
            optimizers[name].zero_grad()
            sum(losses.values()).backward()
            optimizers[name].step()
            if name == "generators":
                cycle_losses.append(losses["loss_cycle_A"].item())
    assert cycle_losses[-1] < 0.8 * cycle_losses[0]  # about 0.65 with seeds 0 to 2
