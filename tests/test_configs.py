"""Every config in configs/ loads with d2ext's keys; the bundled-data configs build and run a model."""
import glob
import os

import pytest
import torch

from conftest import REPO
from d2ext.config import load_config
from d2ext.engine import Trainer
from d2ext.gan.modeling import num_channels

CONFIGS = sorted(glob.glob(os.path.join(REPO, "configs", "**", "*.yaml"), recursive=True))
# Configs of the bundled data (shapes, digits), which train from scratch here.
BUNDLED_MODELS = [c for c in CONFIGS if ("/shapes/" in c or "/digits/" in c) and not os.path.basename(c).startswith("Base-")]


def test_configs_exist():
    assert len(BUNDLED_MODELS) >= 5 and len(CONFIGS) >= 20


@pytest.mark.parametrize("config_file", CONFIGS, ids=lambda p: os.path.relpath(p, REPO))
def test_config_loads(config_file):
    """Every key is known and the datasets it declares register (they load only when used)."""
    cfg = load_config(config_file)
    assert cfg.MODEL.META_ARCHITECTURE


@pytest.mark.parametrize("config_file", BUNDLED_MODELS, ids=lambda p: os.path.relpath(p, REPO))
def test_bundled_data_config_builds_a_model_that_runs_on_cpu(config_file):
    cfg = load_config(config_file, ["MODEL.DEVICE", "cpu"])
    model = Trainer.build_model(cfg).eval()
    assert not any(type(m).__name__ == "FrozenBatchNorm2d" for m in model.modules()), "bundled data trains from scratch"
    meta_arch = cfg.MODEL.META_ARCHITECTURE
    if cfg.SOLVER.TRAINER == "GANTrainer":  # DCGAN generates from a seed, CycleGAN translates an image
        size, channels = cfg.INPUT.GAN.IMAGE_SIZE, num_channels(cfg.INPUT.FORMAT)
        image = torch.randint(0, 255, (channels, size, size), dtype=torch.uint8)
        with torch.no_grad():
            output = model([{"seed": 0, "image": image}])[0]
        assert output["generated" if meta_arch == "DCGAN" else "translated"].shape == image.shape
        return
    size = cfg.INPUT.CLS.CROP_SIZE if meta_arch == "ImageClassifier" else cfg.INPUT.MIN_SIZE_TEST
    with torch.no_grad():
        outputs = model([{"image": torch.randint(0, 255, (3, size, size), dtype=torch.uint8), "height": size, "width": size}])
    if meta_arch == "ImageClassifier":
        assert outputs[0]["scores"].shape == (cfg.MODEL.CLS_HEAD.NUM_CLASSES,)
    elif meta_arch in ("SemanticSegmentor", "ExactSizeSemanticSegmentor"):
        assert outputs[0]["sem_seg"].shape == (cfg.MODEL.SEM_SEG_HEAD.NUM_CLASSES, size, size)
    else:
        assert outputs[0]["instances"].image_size == (size, size)
