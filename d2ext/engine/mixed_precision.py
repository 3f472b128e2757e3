"""
Mixed precision on any device: bf16 autocast on CPUs that compute in bf16 and on CUDA, fp16 on CUDA.

Training in bf16 runs detectron2's SimpleTrainer on the model wrapped in AutocastForward (bf16 needs no loss
scaling); training in fp16 runs detectron2's AMPTrainer, whose GradScaler works on CUDA only. Master weights,
gradients and the optimizer state stay fp32.
"""
import contextlib
import logging

import torch
from torch import nn

from ..utils.private_apis import cpu_computes_bf16

__all__ = ["PRECISIONS", "AutocastForward", "autocast_dtype", "describe_precision", "inference_precision",
           "resolve_precision"]

logger = logging.getLogger(__name__)

# SOLVER.AMP.PRECISION -> autocast dtype; "float32" is what "auto" becomes where mixed precision would be slower.
PRECISIONS = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": None}


def resolve_precision(cfg):
    """
    The concrete SOLVER.AMP.PRECISION for MODEL.DEVICE: "auto" is "bfloat16" on a CPU with bf16 arithmetic and on
    CUDA GPUs that support it, "float16" on other GPUs, and "float32" (no autocast) on a CPU without bf16
    arithmetic, where bf16 would be slower than fp32. Raises ValueError on an unknown precision.
    """
    precision, device_type = cfg.SOLVER.AMP.PRECISION, torch.device(cfg.MODEL.DEVICE).type
    if precision != "auto" and precision not in PRECISIONS:
        raise ValueError(f"SOLVER.AMP.PRECISION = {precision!r}: choose 'auto', 'bfloat16', 'float16' or 'float32'.")
    if precision == "auto" and device_type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if precision == "auto":
        return "bfloat16" if device_type == "cpu" and cpu_computes_bf16() else "float32"
    return precision


def autocast_dtype(cfg, training):
    """
    The dtype training (`training` True) or evaluation autocasts to under `cfg`; None: fp32. float16 training
    needs CUDA (detectron2's AMPTrainer and its GradScaler): elsewhere it is refused with a ValueError.
    """
    enabled = cfg.SOLVER.AMP.ENABLED if training else cfg.TEST.AMP.ENABLED
    dtype = PRECISIONS[resolve_precision(cfg)] if enabled else None
    if training and dtype == torch.float16 and torch.device(cfg.MODEL.DEVICE).type != "cuda":
        raise ValueError(f"SOLVER.AMP.PRECISION 'float16' trains on CUDA only (its GradScaler is detectron2's "
                         f"AMPTrainer's), and MODEL.DEVICE is {cfg.MODEL.DEVICE!r}: use 'bfloat16' there.")
    return dtype


def describe_precision(cfg):
    """One sentence for the log: the precision of training and of evaluation, and why fp32 where autocast was asked."""
    device_type = torch.device(cfg.MODEL.DEVICE).type
    no_bf16 = device_type == "cpu" and not cpu_computes_bf16()
    phases = []
    for name, enabled, dtype in (("training", cfg.SOLVER.AMP.ENABLED, autocast_dtype(cfg, True)),
                                 ("evaluation", cfg.TEST.AMP.ENABLED, autocast_dtype(cfg, False))):
        if dtype is not None:
            phases.append(f"{name} in {str(dtype).removeprefix('torch.')} autocast")
        else:
            phases.append(f"{name} in fp32" + (" (this CPU has no bf16 arithmetic: AVX512-BF16 or AMX)"
                                               if enabled and no_bf16 else ""))
    if (cfg.SOLVER.AMP.ENABLED and device_type == "cpu" and cfg.SOLVER.AMP.PRECISION == "bfloat16" and no_bf16):
        logger.warning("SOLVER.AMP.PRECISION 'bfloat16' on a CPU without bf16 arithmetic (AVX512-BF16 or AMX): "
                       "torch emulates it, which is usually slower than fp32.")
    return f"Precision on {device_type}: {', '.join(phases)}; weights and optimizer state in fp32."


def inference_precision(cfg):
    """A context for evaluation and inference: autocast to autocast_dtype(cfg, training=False), if any."""
    dtype = autocast_dtype(cfg, training=False)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(cfg.MODEL.DEVICE).type, dtype=dtype)


class AutocastForward(nn.Module):
    """
    `module` (the model, or its DDP wrapper) whose training forward runs under ``torch.autocast(device_type,
    dtype)``, as detectron2's SimpleTrainer calls it: its losses come out in autocast, and backward and the
    optimizer step run outside it. In eval mode the forward is the module's own.
    """

    def __init__(self, module, device_type, dtype):
        super().__init__()
        self.module = module
        self.device_type, self.dtype = device_type, dtype

    def forward(self, *args, **kwargs):
        if not self.training:  # evaluation's own precision (TEST.AMP) applies; autocast(enabled=False) would undo it
            return self.module(*args, **kwargs)
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.module(*args, **kwargs)
