"""SOLVER.OPTIMIZER: detectron2's SGD or AdamW, both with detectron2's per-parameter settings, fused by default."""
import os

import pytest
import torch
from detectron2.solver import build_optimizer as detectron2_build_optimizer

from conftest import REPO
from d2ext.config import load_config
from d2ext.engine import Trainer

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


def settings_by_parameter(model, optimizer, keys):
    """[(group[k] for k in keys) of each of `model`'s parameters, in model.parameters() order] of `optimizer`."""
    settings = {id(p): tuple(g[k] for k in keys) for g in optimizer.param_groups for p in g["params"]}
    return [settings[id(p)] for p in model.parameters()]


def step_twice(model, optimizer):
    """Two optimizer steps on one fixed segmentation batch; the model's parameters after them."""
    torch.manual_seed(0)
    batch = [{"image": torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8), "sem_seg": torch.randint(0, 4, (32, 32))}] * 2
    for _ in range(2):
        optimizer.zero_grad()
        sum(model(batch).values()).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def test_sgd_is_detectron2s_sgd_fused():
    cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu", "SOLVER.OPTIMIZER", "SGD", "SOLVER.BASE_LR", 0.01, "SOLVER.NESTEROV", True,
                               "SOLVER.WEIGHT_DECAY_NORM", 0.0, "SOLVER.BIAS_LR_FACTOR", 2.0])
    torch.manual_seed(0)
    ours_model = Trainer.build_model(cfg)
    theirs_model = Trainer.build_model(cfg)
    theirs_model.load_state_dict(ours_model.state_dict())
    ours, theirs = Trainer.build_optimizer(cfg, ours_model), detectron2_build_optimizer(cfg, theirs_model)
    assert isinstance(ours, torch.optim.SGD) and {g["fused"] for g in ours.param_groups} == {True}
    keys = ("lr", "weight_decay", "momentum", "nesterov")
    assert settings_by_parameter(ours_model, ours, keys) == settings_by_parameter(theirs_model, theirs, keys)
    assert len(set(settings_by_parameter(ours_model, ours, keys))) == 4  # norm weights and biases, other weights and biases
    for a, b in zip(step_twice(ours_model, ours), step_twice(theirs_model, theirs)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["SGD", "AdamW"])
def test_fused_and_multi_tensor_optimizers_agree(optimizer):
    results = []
    for fused in (True, False):
        cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu", "SOLVER.OPTIMIZER", optimizer, "SOLVER.BASE_LR", 0.01,
                                   "SOLVER.FUSED_OPTIMIZER", fused])
        torch.manual_seed(0)
        model = Trainer.build_model(cfg)
        built = Trainer.build_optimizer(cfg, model)
        assert {(g["fused"], g["foreach"]) for g in built.param_groups} == {(True, None) if fused else (None, True)}
        results.append(step_twice(model, built))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)  # AdamW: 1e-5 is 0.1% of an update at lr 0.01


@pytest.mark.parametrize("saved_fused", [True, False])
def test_a_loaded_optimizer_state_keeps_the_configs_implementation(saved_fused):
    optimizers = []
    for fused in (saved_fused, not saved_fused):
        cfg = load_config(CONFIG, ["MODEL.DEVICE", "cpu", "SOLVER.FUSED_OPTIMIZER", fused])
        model = Trainer.build_model(cfg)
        optimizers.append((model, Trainer.build_optimizer(cfg, model)))
    (model, saved), (_, loading) = optimizers
    step_twice(model, saved)
    loading.load_state_dict(saved.state_dict())
    assert {(g["fused"], g["foreach"]) for g in loading.param_groups} == {(None, True) if saved_fused else (True, None)}
    assert all("exp_avg" in state for state in loading.state.values()) and len(loading.state) == len(saved.state)


@pytest.mark.parametrize("precision, device, fused", [
    pytest.param("float16", "cuda", None, marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                    reason="float16 training runs on CUDA only")),
    ("bfloat16", "cpu", True)])
def test_float16_training_is_not_fused(precision, device, fused):
    """
    Under float16's GradScaler a skipped first step leaves torch's fused SGD with momentum buffers it never
    wrote, and detectron2's clipping wrapper takes no GradScaler arguments; bf16 has no GradScaler.
    """
    cfg = load_config(CONFIG, ["MODEL.DEVICE", device, "SOLVER.OPTIMIZER", "SGD", "SOLVER.CLIP_GRADIENTS.ENABLED", True,
                               "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", precision])
    assert {g["fused"] for g in Trainer.build_optimizer(cfg, Trainer.build_model(cfg)).param_groups} == {fused}
