"""
Mixed precision on any device: bf16 autocast on CPUs that compute in bf16, fp16 or bf16 on CUDA.

detectron2's AMPTrainer asserts CUDA and autocasts with ``torch.cuda.amp``; MixedPrecisionTrainer is the
same loop with ``torch.autocast(device_type, dtype)`` and a GradScaler that is active only for fp16.
Master weights, gradients and the optimizer state stay fp32.
"""
import contextlib
import logging
import time

import torch
from detectron2.engine import AMPTrainer

__all__ = ["PRECISIONS", "MixedPrecisionTrainer", "autocast_dtype", "cpu_computes_bf16", "describe_precision",
           "inference_precision", "resolve_precision"]

logger = logging.getLogger(__name__)

# SOLVER.AMP.PRECISION -> autocast dtype; "float32" is what "auto" becomes where mixed precision would be slower.
PRECISIONS = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": None}


def cpu_computes_bf16():
    """True when this CPU has bf16 arithmetic (AVX512-BF16 or AMX); elsewhere torch emulates bf16, slower than fp32."""
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def resolve_precision(cfg):
    """
    Make SOLVER.AMP.PRECISION concrete for MODEL.DEVICE (in place, before freezing). "auto" becomes
    "bfloat16" on a CPU with bf16 arithmetic and on CUDA GPUs that support it, "float16" on other GPUs,
    and "float32" (no autocast) on a CPU without bf16 arithmetic, where bf16 would be slower than fp32.
    """
    precision, device_type = cfg.SOLVER.AMP.PRECISION, torch.device(cfg.MODEL.DEVICE).type
    if precision != "auto" and precision not in PRECISIONS:
        raise ValueError(f"SOLVER.AMP.PRECISION = {precision!r}: choose 'auto', 'bfloat16', 'float16' or 'float32'.")
    if precision == "auto" and device_type == "cuda":
        precision = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    elif precision == "auto":
        precision = "bfloat16" if device_type == "cpu" and cpu_computes_bf16() else "float32"
    elif precision == "bfloat16" and device_type == "cpu" and not cpu_computes_bf16() and cfg.SOLVER.AMP.ENABLED:
        logger.warning("SOLVER.AMP.PRECISION 'bfloat16' on a CPU without bf16 arithmetic (AVX512-BF16 or AMX): "
                       "torch emulates it, which is usually slower than fp32.")
    cfg.SOLVER.AMP.PRECISION = precision


def autocast_dtype(cfg, training):
    """The dtype training (`training` True) or evaluation autocasts to under the resolved `cfg`; None: fp32."""
    enabled = cfg.SOLVER.AMP.ENABLED if training else cfg.TEST.AMP.ENABLED
    return PRECISIONS[cfg.SOLVER.AMP.PRECISION] if enabled else None


def describe_precision(cfg):
    """One sentence for the log: the precision of training and of evaluation, and why fp32 where autocast was asked."""
    device_type = torch.device(cfg.MODEL.DEVICE).type
    no_bf16 = device_type == "cpu" and not cpu_computes_bf16()
    phases = []
    for name, enabled, dtype in (("training", cfg.SOLVER.AMP.ENABLED, autocast_dtype(cfg, True)),
                                 ("evaluation", cfg.TEST.AMP.ENABLED, autocast_dtype(cfg, False))):
        if dtype is not None:
            phases.append(f"{name} in {cfg.SOLVER.AMP.PRECISION} autocast")
        else:
            phases.append(f"{name} in fp32" + (" (this CPU has no bf16 arithmetic: AVX512-BF16 or AMX)"
                                               if enabled and no_bf16 else ""))
    return f"Precision on {device_type}: {', '.join(phases)}; weights and optimizer state in fp32."


def inference_precision(cfg):
    """A context for evaluation and inference: autocast to autocast_dtype(cfg, training=False), if any."""
    dtype = autocast_dtype(cfg, training=False)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(cfg.MODEL.DEVICE).type, dtype=dtype)


class MixedPrecisionTrainer(AMPTrainer):
    """
    detectron2's AMPTrainer for any device: each iteration's forward and losses run under
    ``torch.autocast(device_type, precision)``; backward and the optimizer step run outside it, through a
    GradScaler that scales only for float16 (bf16 has fp32's exponent range and needs none).
    """

    def __init__(self, model, data_loader, optimizer, device_type, precision):
        """
        Args:
            model, data_loader, optimizer: as SimpleTrainer's.
            device_type (str): "cpu" or "cuda".
            precision (torch.dtype): torch.bfloat16 or torch.float16.
        """
        scaler = torch.amp.GradScaler(device_type, enabled=precision == torch.float16)
        super().__init__(model, data_loader, optimizer, grad_scaler=scaler, precision=precision)
        self.device_type = device_type

    def run_step(self):
        assert self.model.training, "[MixedPrecisionTrainer] model was changed to eval mode!"
        start = time.perf_counter()
        data = next(self._data_loader_iter)
        data_time = time.perf_counter() - start
        with torch.autocast(self.device_type, dtype=self.precision):
            loss_dict = self.model(data)
            if isinstance(loss_dict, torch.Tensor):
                losses, loss_dict = loss_dict, {"total_loss": loss_dict}
            else:
                losses = sum(loss_dict.values())
        self.optimizer.zero_grad()
        self.grad_scaler.scale(losses).backward()
        self.after_backward()
        self._write_metrics(loss_dict, data_time)
        self.grad_scaler.step(self.optimizer)
        self.grad_scaler.update()
