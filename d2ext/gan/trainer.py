"""
GANTrainer: d2ext's Trainer (detectron2's DefaultTrainer) for models trained with several optimizers,
one per network group, each with its own LR schedule (see d2ext.gan.modeling.gan for the protocol).
"""
import contextlib
import itertools
import time

import torch
import torch.distributed as dist
from detectron2.data import MetadataCatalog, build_detection_test_loader, build_detection_train_loader
from detectron2.data import get_detection_dataset_dicts
from detectron2.engine import SimpleTrainer, hooks
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils import comm
from torch import nn

from ..data import build_mapper
from ..engine import TRAINER_REGISTRY, Trainer
from ..engine.mixed_precision import autocast_dtype
from ..utils.private_apis import next_batch, write_step_metrics
from .data import log_channel_conversions
from .evaluation import num_generated_samples

__all__ = ["GANTrainer", "MultiOptimizerTrainer", "LRSchedulers", "OptimizerGroups"]


def all_reduce_gradients(params):
    """Average the gradients of `params` over the processes of a launch() job: one all_reduce of them flattened."""
    world_size = comm.get_world_size()
    grads = [p.grad for p in params if p.grad is not None]
    if world_size == 1 or not grads:
        return
    flat = torch.cat([grad.reshape(-1) for grad in grads])
    dist.all_reduce(flat)
    flat.div_(world_size)
    for grad, synced in zip(grads, flat.split([grad.numel() for grad in grads])):
        grad.copy_(synced.view_as(grad))


class OptimizerGroups(dict):
    """Named optimizers (name -> torch optimizer) as the one optimizer SimpleTrainer holds and checkpoints."""

    def state_dict(self):
        return {name: optimizer.state_dict() for name, optimizer in self.items()}

    def load_state_dict(self, state_dict):
        for name, optimizer in self.items():
            optimizer.load_state_dict(state_dict[name])


class MultiOptimizerTrainer(SimpleTrainer):
    """
    detectron2's SimpleTrainer for a model whose training forward yields ``(optimizer name, loss dict)``
    phases: each phase's summed losses are back-propagated, its gradients averaged over processes and its
    optimizer stepped before the next phase runs. With a `precision`, every phase's forward runs under
    autocast to it; for float16 (CUDA) a GradScaler scales each phase's loss and is updated once per iteration,
    after the last step, as PyTorch's AMP recipe for several optimizers does.

    Gradients are averaged here rather than by DistributedDataParallel: one GAN iteration runs several
    backward passes over graphs that span phases (the generator's output of the discriminator phase is
    back-propagated in the generator phase), which DDP's one-forward-one-backward reducer does not model.
    """

    def __init__(self, model, data_loader, optimizers, device_type="cpu", precision=None, **options):
        """
        Args:
            model, data_loader: as SimpleTrainer's.
            optimizers (dict): optimizer name -> torch optimizer, the names the model's phases yield; held
                as ``self.optimizer`` (OptimizerGroups), checkpointed under "optimizer" by name.
            device_type (str): "cpu" or "cuda"; precision (torch.dtype or None): the autocast dtype, None for fp32.
            options: SimpleTrainer's gather_metric_period and async_write_metrics.
        """
        super().__init__(model, data_loader, OptimizerGroups(optimizers), **options)
        self.device_type, self.precision = device_type, precision
        self.grad_scaler = torch.amp.GradScaler(device_type, enabled=precision == torch.float16)
        self._params = {name: [p for group in opt.param_groups for p in group["params"]] for name, opt in optimizers.items()}

    def run_step(self):
        start = time.perf_counter()
        data = next_batch(self)
        data_time = time.perf_counter() - start
        phases = self.model(data)
        loss_dict = {}
        while True:
            with torch.autocast(self.device_type, dtype=self.precision) if self.precision else contextlib.nullcontext():
                phase = next(phases, None)
            if phase is None:
                break
            name, losses = phase
            total = sum(losses.values())
            if not torch.isfinite(total):
                raise FloatingPointError(f"The {name} loss became {total.item()} at iteration {self.iter}: "
                                         f"{ {k: v.item() for k, v in losses.items()} }")
            optimizer = self.optimizer[name]
            optimizer.zero_grad(set_to_none=True)
            self.grad_scaler.scale(total).backward()  # a disabled scaler passes the loss and the step through
            all_reduce_gradients(self._params[name])
            self.grad_scaler.step(optimizer)
            loss_dict.update(losses)
        self.grad_scaler.update()
        write_step_metrics(self, loss_dict, data_time)

    def state_dict(self):
        return {**super().state_dict(), "grad_scaler": self.grad_scaler.state_dict()}  # empty unless float16

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        if state_dict.get("grad_scaler"):
            self.grad_scaler.load_state_dict(state_dict["grad_scaler"])


class NamedLRScheduler(hooks.LRScheduler):
    """detectron2's LRScheduler hook for one of several optimizers: its LR is logged as ``lr/<name>``."""

    def __init__(self, name, optimizer, scheduler):
        super().__init__(optimizer, scheduler)
        self.name, self.optimizer = name, optimizer

    def before_train(self):
        super().before_train()
        self.logged_group = self.get_best_param_group_id(self.optimizer)

    @property
    def lr(self):
        """The LR detectron2's LRScheduler would log: that of the optimizer's largest parameter group."""
        return self.optimizer.param_groups[self.logged_group]["lr"]

    def after_step(self):
        self.trainer.storage.put_scalar(f"lr/{self.name}", self.lr, smoothing_hint=False)
        self.scheduler.step()


class LRSchedulers(hooks.HookBase):
    """
    Steps every optimizer's scheduler after each iteration (a NamedLRScheduler each) and checkpoints them
    all: detectron2 keeps one state per hook class, so one hook holds them.
    """

    def __init__(self, optimizers, schedulers):
        self._hooks = {name: NamedLRScheduler(name, optimizers[name], schedulers[name]) for name in optimizers}

    def before_train(self):
        for hook in self._hooks.values():
            hook.trainer = self.trainer
            hook.before_train()

    def after_step(self):
        # detectron2's console printer shows one "lr": the first optimizer's (all follow the same schedule).
        self.trainer.storage.put_scalar("lr", next(iter(self._hooks.values())).lr, smoothing_hint=False)
        for hook in self._hooks.values():
            hook.after_step()

    def state_dict(self):
        return {name: hook.state_dict() for name, hook in self._hooks.items()}

    def load_state_dict(self, state_dict):
        for name, hook in self._hooks.items():
            hook.load_state_dict(state_dict[name])


def _zip_domain_batches(loaders):
    """One batch per iteration: the concatenated batches of every domain's loader."""
    for batches in zip(*loaders):
        yield list(itertools.chain.from_iterable(batches))


@TRAINER_REGISTRY.register()
class GANTrainer(Trainer):
    """
    Trainer (SOLVER.TRAINER "GANTrainer") for models with ``optimizer_groups`` (DCGAN, CycleGAN):

    * one optimizer (SOLVER.OPTIMIZER, BASE_LR, BETAS, ...) and one LR schedule per group, all checkpointed;
    * MultiOptimizerTrainer runs the iterations (autocast under SOLVER.AMP, on CUDA and CPU);
    * unpaired datasets (metadata ``domains``) give every iteration SOLVER.IMS_PER_BATCH images of each domain;
    * several processes start from rank 0's weights and average gradients per optimizer step;
    * evaluation of a model that ``samples_from_seeds`` feeds it TEST.GAN.SEED + i, i < the sample count.
    """

    steps_optimizer_groups = True

    @classmethod
    def wrap_model(cls, cfg, model):
        if comm.get_world_size() > 1:
            for tensor in model.state_dict().values():
                dist.broadcast(tensor, src=0)
        return model

    @classmethod
    def build_optimizer(cls, cfg, model):
        return {name: super(GANTrainer, cls).build_optimizer(cfg, nn.ModuleList(getattr(model, m) for m in modules))
                for name, modules in model.optimizer_groups.items()}

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizers):
        return {name: super(GANTrainer, cls).build_lr_scheduler(cfg, optimizer) for name, optimizer in optimizers.items()}

    @classmethod
    def build_inner_trainer(cls, cfg, model, data_loader, optimizers):
        return MultiOptimizerTrainer(model, data_loader, optimizers, torch.device(cfg.MODEL.DEVICE).type,
                                     autocast_dtype(cfg, training=True), async_write_metrics=cfg.SOLVER.ASYNC_WRITE_METRICS)

    def build_hooks(self):
        return [LRSchedulers(self._trainer.optimizer, self.scheduler) if isinstance(h, hooks.LRScheduler) else h
                for h in super().build_hooks()]

    @classmethod
    def build_train_loader(cls, cfg):
        mapper = build_mapper(cfg, is_train=True)
        dicts = get_detection_dataset_dicts(cfg.DATASETS.TRAIN, filter_empty=False)
        log_channel_conversions(dicts, cfg.INPUT.FORMAT, ", ".join(cfg.DATASETS.TRAIN))
        domains = MetadataCatalog.get(cfg.DATASETS.TRAIN[0]).get("domains")
        if not domains:
            return build_detection_train_loader(cfg, mapper=mapper, dataset=dicts)
        return _zip_domain_batches([build_detection_train_loader(cfg, mapper=mapper, dataset=[d for d in dicts if d["domain"] == domain])
                                    for domain in domains])

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        if not META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE).samples_from_seeds:
            return super().build_test_loader(cfg, dataset_name)
        seeds = [{"seed": cfg.TEST.GAN.SEED + i} for i in range(num_generated_samples(cfg, dataset_name))]
        return build_detection_test_loader(seeds, mapper=lambda x: x, batch_size=cfg.TEST.IMS_PER_BATCH)
