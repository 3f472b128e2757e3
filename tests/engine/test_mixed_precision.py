"""Mixed precision on the CPU (bf16 and fp16 autocast, GradScaler only for fp16), for one-loss and GAN trainers, and channels_last."""
import os

import pytest
import torch
from detectron2.utils.env import seed_all_rng
from torch import nn

from conftest import REPO
from d2ext.config import get_cfg
from d2ext.engine import GANTrainer, Trainer, load_config, resolve_device
from d2ext.engine.mixed_precision import MixedPrecisionTrainer, cpu_computes_bf16, describe_precision

CLASSIFIER = os.path.join(REPO, "configs/digits/classification/resnet18.yaml")
DCGAN = os.path.join(REPO, "configs/digits/gan/dcgan.yaml")


def short_run(config, tmp_path, *opts):
    return load_config(config, ["MODEL.DEVICE", "cpu", "SOLVER.IMS_PER_BATCH", 8, "SOLVER.MAX_ITER", 3,
                                "SOLVER.WARMUP_ITERS", 0, "DATALOADER.NUM_WORKERS", 0, "DATASETS.TEST", (),
                                "OUTPUT_DIR", str(tmp_path), *opts])


def record_conv_output_dtypes(model):
    """The dtypes of every Conv2d output of `model`'s forwards, collected from now on."""
    dtypes = set()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            module.register_forward_hook(lambda m, i, o: dtypes.add(o.dtype))
    return dtypes


def test_auto_precision_is_bf16_only_where_the_cpu_computes_in_bf16():
    cfg = get_cfg()
    cfg.MODEL.DEVICE, cfg.SOLVER.AMP.ENABLED = "cpu", True
    resolve_device(cfg)
    if cpu_computes_bf16():
        assert cfg.SOLVER.AMP.PRECISION == "bfloat16"
        assert "training in bfloat16 autocast" in describe_precision(cfg)
    else:
        assert cfg.SOLVER.AMP.PRECISION == "float32"
        assert "training in fp32 (this CPU has no bf16 arithmetic" in describe_precision(cfg)
    assert "evaluation in fp32;" in describe_precision(cfg)


def test_an_unknown_precision_is_refused():
    cfg = get_cfg()
    cfg.SOLVER.AMP.PRECISION = "int8"
    with pytest.raises(ValueError, match=r"SOLVER.AMP.PRECISION = 'int8': choose 'auto', 'bfloat16', 'float16' or 'float32'"):
        resolve_device(cfg)


@pytest.mark.slow
def test_bf16_training_and_evaluation_autocast_and_keep_fp32_weights(tmp_path):
    cfg = short_run(CLASSIFIER, tmp_path, "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "bfloat16",
                    "TEST.AMP.ENABLED", True, "DATASETS.TEST", ("digits_test",))
    trainer = Trainer(cfg)
    assert isinstance(trainer._trainer, MixedPrecisionTrainer) and not trainer._trainer.grad_scaler.is_enabled()
    dtypes = record_conv_output_dtypes(trainer.model)
    trainer.train()
    assert dtypes == {torch.bfloat16}  # training and evaluation forwards
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert all(torch.isfinite(torch.tensor(v)) for v, _ in trainer.storage.history("total_loss").values())
    assert 0 <= trainer._last_eval_results["classification"]["top1"] <= 100


@pytest.mark.slow
def test_fp16_training_scales_its_loss_and_resumes_the_scaler(tmp_path):
    cfg = short_run(CLASSIFIER, tmp_path, "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "float16",
                    "SOLVER.CHECKPOINT_PERIOD", 3)
    seed_all_rng(6)  # a run whose first step overflows and is skipped: a fused SGD would then diverge
    trainer = Trainer(cfg)
    assert trainer._trainer.grad_scaler.is_enabled()
    dtypes = record_conv_output_dtypes(trainer.model)
    trainer.train()
    assert dtypes == {torch.float16}
    scale = trainer._trainer.grad_scaler.get_scale()
    resumed = Trainer(cfg.clone())
    resumed.resume_or_load(resume=True)
    assert resumed._trainer.grad_scaler.get_scale() == scale


@pytest.mark.slow
def test_gan_phases_autocast_in_bf16(tmp_path):
    cfg = short_run(DCGAN, tmp_path, "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "bfloat16")
    trainer = GANTrainer(cfg)
    dtypes = record_conv_output_dtypes(trainer.model)
    trainer.train()
    assert dtypes == {torch.bfloat16}
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in trainer.model.parameters())


def test_channels_last_weights_give_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    contiguous = Trainer.build_model(short_run(CLASSIFIER, tmp_path)).eval()
    channels_last = Trainer.build_model(short_run(CLASSIFIER, tmp_path, "MODEL.CHANNELS_LAST", True)).eval()
    channels_last.load_state_dict(contiguous.state_dict())
    convs = [m.weight for m in channels_last.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    batch = [{"image": torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)} for _ in range(4)]
    with torch.inference_mode():
        expected, actual = contiguous(batch), channels_last(batch)
    for e, a in zip(expected, actual):
        torch.testing.assert_close(a["scores"], e["scores"], atol=1e-5, rtol=1e-4)
