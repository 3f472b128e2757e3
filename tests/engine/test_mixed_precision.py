"""Mixed precision (bf16 autocast on the CPU, fp16 on CUDA only), detectron2's loop options, and channels_last."""
import json
import os

import pytest
import torch
from detectron2.engine import AMPTrainer, SimpleTrainer
from detectron2.utils.env import seed_all_rng
from torch import nn

from conftest import REPO
from d2ext.config import get_cfg, load_config
from d2ext.engine import Trainer
from d2ext.engine.mixed_precision import AutocastForward, describe_precision, resolve_precision
from d2ext.gan import GANTrainer
from d2ext.utils.private_apis import cpu_computes_bf16

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
    if cpu_computes_bf16():
        assert resolve_precision(cfg) == "bfloat16"
        assert "training in bfloat16 autocast" in describe_precision(cfg)
    else:
        assert resolve_precision(cfg) == "float32"
        assert "training in fp32 (this CPU has no bf16 arithmetic" in describe_precision(cfg)
    assert "evaluation in fp32;" in describe_precision(cfg)
    assert cfg.SOLVER.AMP.PRECISION == "auto"  # resolved where it is used: a later MODEL.DEVICE still counts


def test_an_unknown_precision_is_refused():
    cfg = get_cfg()
    cfg.SOLVER.AMP.PRECISION = "int8"
    with pytest.raises(ValueError, match=r"SOLVER.AMP.PRECISION = 'int8': choose 'auto', 'bfloat16', 'float16' or 'float32'"):
        resolve_precision(cfg)


@pytest.mark.slow
def test_bf16_training_and_evaluation_autocast_and_keep_fp32_weights(tmp_path):
    cfg = short_run(CLASSIFIER, tmp_path, "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "bfloat16",
                    "TEST.AMP.ENABLED", True, "DATASETS.TEST", ("digits_test",))
    trainer = Trainer(cfg)
    assert type(trainer._trainer) is SimpleTrainer and isinstance(trainer._trainer.model, AutocastForward)
    dtypes = record_conv_output_dtypes(trainer.model)
    trainer.train()
    assert dtypes == {torch.bfloat16}  # training and evaluation forwards
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    assert all(torch.isfinite(torch.tensor(v)) for v, _ in trainer.storage.history("total_loss").values())
    with open(tmp_path / "inference" / "digits_test" / "classification_predictions.json") as f:
        assert len(json.load(f)) == 359  # the whole test split was evaluated


def test_float16_training_on_the_cpu_is_refused(tmp_path):
    cfg = short_run(CLASSIFIER, tmp_path, "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "float16")
    with pytest.raises(ValueError, match=r"SOLVER.AMP.PRECISION 'float16' trains on CUDA only .* and MODEL.DEVICE is "
                                         r"'cpu': use 'bfloat16' there"):
        Trainer(cfg)


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="float16 training runs on CUDA only")
def test_fp16_training_scales_its_loss_and_resumes_the_scaler(tmp_path):
    cfg = short_run(CLASSIFIER, tmp_path, "MODEL.DEVICE", "cuda", "SOLVER.AMP.ENABLED", True,
                    "SOLVER.AMP.PRECISION", "float16", "SOLVER.CHECKPOINT_PERIOD", 3, "SOLVER.AMP.LOG_GRAD_SCALER", True)
    seed_all_rng(6)
    trainer = Trainer(cfg)
    assert isinstance(trainer._trainer, AMPTrainer) and trainer._trainer.log_grad_scaler
    dtypes = record_conv_output_dtypes(trainer.model)
    trainer.train()
    assert dtypes == {torch.float16}
    scale = trainer._trainer.grad_scaler.get_scale()
    resumed = Trainer(cfg.clone())
    resumed.resume_or_load(resume=True)
    assert resumed._trainer.grad_scaler.get_scale() == scale


@pytest.mark.parametrize("amp", [False, True])
def test_detectron2s_loop_options_come_from_the_config(tmp_path, amp):
    cfg = short_run(CLASSIFIER, tmp_path, "SOLVER.ZERO_GRAD_BEFORE_FORWARD", True, "SOLVER.ASYNC_WRITE_METRICS", True,
                    "SOLVER.AMP.ENABLED", amp, "SOLVER.AMP.PRECISION", "bfloat16")
    trainer = Trainer(cfg)
    assert trainer._trainer.zero_grad_before_forward and trainer._trainer.async_write_metrics
    trainer.train()
    with open(tmp_path / "metrics.json") as f:
        assert [json.loads(line)["iteration"] for line in f] == [2]  # written from the background thread, in order
    plain = Trainer(short_run(CLASSIFIER, tmp_path / "plain"))
    assert not plain._trainer.zero_grad_before_forward and not plain._trainer.async_write_metrics


@pytest.mark.slow
def test_gan_phases_autocast_in_bf16(tmp_path):
    cfg = short_run(DCGAN, tmp_path, "SOLVER.AMP.ENABLED", True, "SOLVER.AMP.PRECISION", "bfloat16")
    trainer = GANTrainer(cfg)
    dtypes = record_conv_output_dtypes(trainer.model)
    trainer.train()
    assert dtypes == {torch.bfloat16}
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in trainer.model.parameters())


def conv_weights(model):
    """The 4-D weights of `model`'s convolutions whose layout differs between memory formats (kernels above 1x1)."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight[0, 0].numel() > 1]


def test_channels_last_weights_give_the_same_outputs(tmp_path):
    torch.manual_seed(0)
    contiguous = Trainer.build_model(short_run(CLASSIFIER, tmp_path, "MODEL.CHANNELS_LAST", False)).eval()
    channels_last = Trainer.build_model(short_run(CLASSIFIER, tmp_path, "MODEL.CHANNELS_LAST", True)).eval()
    channels_last.load_state_dict(contiguous.state_dict())
    assert conv_weights(contiguous) and not any(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(contiguous))
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(channels_last))
    batch = [{"image": torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)} for _ in range(4)]
    with torch.inference_mode():
        expected, actual = contiguous(batch), channels_last(batch)
    for e, a in zip(expected, actual):
        torch.testing.assert_close(a["scores"], e["scores"], atol=1e-5, rtol=1e-4)
