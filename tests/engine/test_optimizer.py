"""SOLVER.OPTIMIZER: detectron2's SGD or AdamW, both with detectron2's per-parameter settings."""
import os

import pytest
import torch

from conftest import REPO
from d2ext.engine import Trainer, load_config

CONFIG = os.path.join(REPO, "configs/shapes/semantic_segmentation/unet_light.yaml")


def test_adamw_takes_detectron2s_parameter_groups_and_betas():
    cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu", "SOLVER.OPTIMIZER", "AdamW", "SOLVER.BASE_LR", 0.002,
                               "SOLVER.BETAS", (0.5, 0.99), "SOLVER.WEIGHT_DECAY_NORM", 0.0])
    model = Trainer.build_model(cfg)
    optimizer = Trainer.build_optimizer(cfg, model)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert {g["betas"] for g in optimizer.param_groups} == {(0.5, 0.99)}
    norm_weight = model.backbone.stage0[0].norm.weight
    (group,) = [g for g in optimizer.param_groups if any(p is norm_weight for p in g["params"])]
    assert group["weight_decay"] == 0.0 and group["lr"] == 0.002
    before = norm_weight.detach().clone()
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    sum(model([{"image": image, "sem_seg": torch.randint(0, 4, (32, 32))}] * 2).values()).backward()
    optimizer.step()
    assert not torch.equal(norm_weight, before)


def test_unknown_optimizer_is_refused():
    cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu", "SOLVER.OPTIMIZER", "Adam"])
    with pytest.raises(ValueError, match="SOLVER.OPTIMIZER = 'Adam': choose 'SGD' or 'AdamW'"):
        Trainer.build_optimizer(cfg, Trainer.build_model(cfg))
