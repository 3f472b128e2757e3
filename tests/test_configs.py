"""Every config in configs/ loads with d2ext's keys; the bundled-data configs build and run a model."""
import glob
import os

import pytest
import torch

from conftest import REPO
from d2ext.config import get_cfg
from d2ext.engine import Trainer, resolve_device

CONFIGS = sorted(glob.glob(os.path.join(REPO, "configs", "**", "*.yaml"), recursive=True))
SHAPES_MODELS = [c for c in CONFIGS if "/shapes/" in c and not os.path.basename(c).startswith("Base-")]


def test_configs_exist():
    assert len(SHAPES_MODELS) >= 3 and len(CONFIGS) >= 8


@pytest.mark.parametrize("config_file", CONFIGS, ids=lambda p: os.path.relpath(p, REPO))
def test_config_loads(config_file):
    cfg = get_cfg()
    cfg.merge_from_file(config_file)
    assert cfg.MODEL.META_ARCHITECTURE


@pytest.mark.parametrize("config_file", SHAPES_MODELS, ids=lambda p: os.path.relpath(p, REPO))
def test_shapes_config_builds_a_model_that_runs_on_cpu(config_file):
    cfg = get_cfg()
    cfg.merge_from_file(config_file)
    resolve_device(cfg)
    model = Trainer.build_model(cfg).eval()
    assert not any(type(m).__name__ == "FrozenBatchNorm2d" for m in model.modules()), "shapes trains from scratch"
    size = cfg.INPUT.MIN_SIZE_TEST
    with torch.no_grad():
        outputs = model([{"image": torch.randint(0, 255, (3, size, size), dtype=torch.uint8), "height": size, "width": size}])
    assert outputs[0]["instances"].image_size == (size, size)
