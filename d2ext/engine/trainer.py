"""detectron2's DefaultTrainer with d2ext's mapper and evaluator dispatch, on CPU as on CUDA."""
import logging
import os
import weakref

import torch
from detectron2.data import MetadataCatalog, build_detection_test_loader, build_detection_train_loader
from detectron2.engine import AMPTrainer, DefaultTrainer, SimpleTrainer, TrainerBase, create_ddp_model, hooks
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.projects.deeplab import build_lr_scheduler
from detectron2.solver.build import get_default_optimizer_params, maybe_add_gradient_clipping
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger
from detectron2.utils.registry import Registry
from torch import optim

from ..checkpoint import SafeCheckpointer
from ..config import config_value
from ..data import build_mapper
from ..evaluation import build_evaluator, evaluated_iteration, evaluating_iteration
from ..utils.events import trim_metrics_file
from ..utils.file_io import atomic_write_json, remove_temporary_files
from ..utils.private_apis import record_eval_results
from .hooks import BoundedScalarHistories
from .mixed_precision import AutocastForward, autocast_dtype, describe_precision, inference_precision

__all__ = ["MODEL_CONFIG_CHECKS", "NUM_CLASSES_KEYS", "TRAINER_REGISTRY", "Trainer", "check_num_classes",
           "check_shared_last_checkpoint", "memory_format", "register_num_classes_key", "trainer_class"]

# META_ARCHITECTURE -> (config key of its class count, metadata field of a dataset's class names), filled by
# the tasks with register_num_classes_key.
NUM_CLASSES_KEYS = {}

# META_ARCHITECTURE -> fn(cfg) that raises ValueError naming the config keys when the config cannot build that
# model; run when detectron2's build fails, to replace its bare error. Filled by the tasks.
MODEL_CONFIG_CHECKS = {}

TRAINER_REGISTRY = Registry("D2EXT_TRAINER")
TRAINER_REGISTRY.__doc__ = """Trainer classes, chosen by SOLVER.TRAINER: "Trainer" (one optimizer) and the tasks' (several)."""


def register_num_classes_key(meta_architecture, key, classes_field):
    """
    Declare that MODEL.META_ARCHITECTURE `meta_architecture` predicts the classes counted by the config `key`
    ("MODEL.ROI_HEADS.NUM_CLASSES"), named by the datasets' metadata `classes_field` ("thing_classes").
    """
    NUM_CLASSES_KEYS[meta_architecture] = (key, classes_field)


def trainer_class(cfg):
    """
    The trainer class SOLVER.TRAINER names; its classmethods also build, test and evaluate models. A model
    with several optimizers (``optimizer_groups``: the GANs) needs a trainer that steps them, and the reverse.
    """
    if cfg.SOLVER.TRAINER not in TRAINER_REGISTRY:
        raise ValueError(f"SOLVER.TRAINER = {cfg.SOLVER.TRAINER!r}: choose one of {sorted(k for k, _ in TRAINER_REGISTRY)}.")
    trainer = TRAINER_REGISTRY.get(cfg.SOLVER.TRAINER)
    several_optimizers = hasattr(META_ARCH_REGISTRY.get(cfg.MODEL.META_ARCHITECTURE), "optimizer_groups")
    if several_optimizers != trainer.steps_optimizer_groups:
        fitting = [name for name, cls in TRAINER_REGISTRY if cls.steps_optimizer_groups == several_optimizers]
        raise ValueError(f"SOLVER.TRAINER = {cfg.SOLVER.TRAINER!r} cannot train MODEL.META_ARCHITECTURE = "
                         f"{cfg.MODEL.META_ARCHITECTURE!r}, which has {'several optimizers' if several_optimizers else 'one loss'}: "
                         f"set SOLVER.TRAINER to {' or '.join(map(repr, fitting))}.")
    return trainer


def memory_format(cfg):
    """The memory format of the model's 4-D weights (and so of its activations): channels_last if MODEL.CHANNELS_LAST."""
    return torch.channels_last if cfg.MODEL.CHANNELS_LAST else torch.contiguous_format


def check_shared_last_checkpoint(checkpointer):
    """
    Raise RuntimeError in every process of a launch() job whose processes see different last checkpoints in
    OUTPUT_DIR, as when each machine has its own OUTPUT_DIR: they would resume at different iterations, then
    pair up mismatched collectives and wait on each other.
    """
    last = os.path.basename(checkpointer.get_checkpoint_file()) if checkpointer.has_checkpoint() else None
    seen = comm.all_gather(last)
    if len(set(seen)) > 1:
        raise RuntimeError(
            f"--resume: the processes see different last checkpoints in OUTPUT_DIR {checkpointer.save_dir} "
            f"(process rank: checkpoint) {dict(enumerate(seen))}. Rank 0 alone writes checkpoints, so OUTPUT_DIR must "
            "be a folder every machine shares (a network file system): put it there, or copy rank 0's OUTPUT_DIR to "
            "the same path on every machine, then run with --resume again.")


def check_num_classes(cfg, dataset_names):
    """
    Raise ValueError when the model's class count differs from a dataset's classes, or a semantic
    segmentation model ignores another label than the dataset (known once the dataset is loaded):
    labels beyond the head would fail late and obscurely, other ones would silently train as classes.
    """
    key, classes_field = NUM_CLASSES_KEYS.get(cfg.MODEL.META_ARCHITECTURE, (None, None))
    if key is None:
        return
    num_classes = config_value(cfg, key)
    for name in dataset_names:
        metadata = MetadataCatalog.get(name)
        classes = metadata.get(classes_field)
        if classes is not None and len(classes) != num_classes:
            raise ValueError(
                f"{key} = {num_classes}, but dataset '{name}' has {len(classes)} classes {classes}. "
                f"Set {key} {len(classes)} (in the config file or as a KEY VALUE override)."
            )
        ignore_label = metadata.get("ignore_label")
        if classes_field == "stuff_classes" and ignore_label is not None and ignore_label != cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE:
            raise ValueError(
                f"MODEL.SEM_SEG_HEAD.IGNORE_VALUE = {cfg.MODEL.SEM_SEG_HEAD.IGNORE_VALUE}, but dataset '{name}' marks "
                f"unscored pixels with {ignore_label}. Set MODEL.SEM_SEG_HEAD.IGNORE_VALUE {ignore_label}."
            )


@TRAINER_REGISTRY.register()
class Trainer(DefaultTrainer):
    """
    DefaultTrainer whose model, loaders and evaluators follow the config:

    * the dataset mapper is ``cfg.INPUT.DATASET_MAPPER`` (d2ext.data.MAPPER_REGISTRY);
    * the evaluator follows each test dataset's ``evaluator_type`` (d2ext.evaluation.EVALUATOR_REGISTRY);
    * mixed precision on CPU and CUDA (SOLVER.AMP, TEST.AMP), detectron2's training-loop options
      (SOLVER.ZERO_GRAD_BEFORE_FORWARD, ASYNC_WRITE_METRICS, AMP.LOG_GRAD_SCALER), channels_last weights
      (MODEL.CHANNELS_LAST), evaluation under torch.inference_mode;
    * several CPU processes (``--num-gpus N`` without CUDA) train with DDP over gloo;
    * checkpoints load and save through SafeCheckpointer (no code run from a file, atomic writes,
      backbone-only torchvision weights, a word on re-initialised heads);
    * evaluation results are also written to ``OUTPUT_DIR/evaluation_results.json``;
    * a resumed run cuts ``metrics.json`` back to the iterations before its checkpoint.
    """

    steps_optimizer_groups = False  # trains models of one optimizer; GANTrainer those with optimizer_groups

    def __init__(self, cfg):
        # DefaultTrainer.__init__ builds three things inline, with no method to override: the DDP wrapper (with
        # device_ids=[local_rank], which DistributedDataParallel refuses for a CPU model), the inner trainer
        # (SimpleTrainer or the CUDA-only AMPTrainer, without detectron2's loop options) and the checkpointer.
        # Here each comes from a method; the rest is DefaultTrainer's construction, in its order.
        TrainerBase.__init__(self)
        if not logging.getLogger("detectron2").isEnabledFor(logging.INFO):
            setup_logger()
        cfg = self.auto_scale_workers(cfg, comm.get_world_size())
        logging.getLogger(__name__).info(describe_precision(cfg))
        model = self.build_model(cfg)
        optimizer = self.build_optimizer(cfg, model)
        data_loader = self.build_train_loader(cfg)
        model = self.wrap_model(cfg, model)
        self._trainer = self.build_inner_trainer(cfg, model, data_loader, optimizer)
        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.checkpointer = SafeCheckpointer(model, cfg.OUTPUT_DIR, trainer=weakref.proxy(self))
        self.start_iter = 0
        self.max_iter = cfg.SOLVER.MAX_ITER
        self.cfg = cfg
        self.register_hooks(self.build_hooks())

    def train(self):
        """
        DefaultTrainer.train; a NaN or infinite loss stops it with the iteration and the last good checkpoint.
        A run resumed at MAX_ITER whose model_final.pth is missing (its writer was killed) writes it.
        """
        if self.start_iter >= self.max_iter > 0 and comm.is_main_process():
            if not os.path.exists(os.path.join(self.cfg.OUTPUT_DIR, "model_final.pth")):
                self.checkpointer.save("model_final", iteration=self.iter)
        try:
            return super().train()
        except FloatingPointError as e:
            last = self.checkpointer.get_checkpoint_file() if self.checkpointer.has_checkpoint() else None
            raise FloatingPointError(
                f"Training diverged at iteration {self.iter}: {e}\nThe last good checkpoint, left intact, is "
                f"{last or 'none: no checkpoint was saved before (SOLVER.CHECKPOINT_PERIOD)'}. Lower SOLVER.BASE_LR, "
                "lengthen SOLVER.WARMUP_ITERS or enable SOLVER.CLIP_GRADIENTS, then --resume from it (or --overwrite)."
            ) from e

    def resume_or_load(self, resume=True):
        """
        DefaultTrainer.resume_or_load, after removing the temporary files of a killed run's checkpoint writes;
        then metrics.json is cut back to the iterations before the one training starts at (trim_metrics_file).
        With resume, every process must see the same last checkpoint (check_shared_last_checkpoint).
        """
        if resume:
            check_shared_last_checkpoint(self.checkpointer)
        if comm.is_main_process() and os.path.isdir(self.cfg.OUTPUT_DIR):
            remove_temporary_files(self.cfg.OUTPUT_DIR)
        super().resume_or_load(resume)
        if comm.is_main_process():
            trim_metrics_file(os.path.join(self.cfg.OUTPUT_DIR, "metrics.json"), self.start_iter)

    def build_hooks(self):
        """DefaultTrainer's hooks, its evaluation hook running ``evaluate``, and BoundedScalarHistories."""
        return [BoundedScalarHistories()] + [
            hooks.EvalHook(self.cfg.TEST.EVAL_PERIOD, self.evaluate) if isinstance(h, hooks.EvalHook) else h
            for h in super().build_hooks()]

    def evaluate(self):
        """Evaluate the model being trained (``test``), recorded as the evaluation of the current iteration."""
        with evaluating_iteration(self.iter):
            results = self.test(self.cfg, self.model)
        record_eval_results(self, results)
        return results

    @classmethod
    def wrap_model(cls, cfg, model):
        """The model for training in a launch() job: detectron2's DDP wrapper (none in a single process)."""
        on_cuda = cfg.MODEL.DEVICE.startswith("cuda")
        return create_ddp_model(model, broadcast_buffers=False, device_ids=[comm.get_local_rank()] if on_cuda else None)

    @classmethod
    def build_model(cls, cfg):
        """
        DefaultTrainer.build_model, its weights in channels_last memory format when MODEL.CHANNELS_LAST.
        When detectron2's build fails, the meta-architecture's config check (MODEL_CONFIG_CHECKS), if any, names
        the config keys at fault.
        """
        try:
            model = super().build_model(cfg)
        except Exception:
            check = MODEL_CONFIG_CHECKS.get(cfg.MODEL.META_ARCHITECTURE)
            if check is not None:
                check(cfg)
            raise
        return model.to(memory_format=memory_format(cfg))

    @classmethod
    def build_inner_trainer(cls, cfg, model, data_loader, optimizer):
        """
        The loop that runs one iteration, with detectron2's options from the config: SimpleTrainer, on the model
        wrapped in AutocastForward under bf16 SOLVER.AMP; detectron2's AMPTrainer (CUDA) under float16.
        """
        options = {"zero_grad_before_forward": cfg.SOLVER.ZERO_GRAD_BEFORE_FORWARD,
                   "async_write_metrics": cfg.SOLVER.ASYNC_WRITE_METRICS}
        dtype = autocast_dtype(cfg, training=True)
        if dtype == torch.float16:
            trainer = AMPTrainer(model, data_loader, optimizer, grad_scaler=torch.amp.GradScaler("cuda"),
                                 precision=dtype, log_grad_scaler=cfg.SOLVER.AMP.LOG_GRAD_SCALER, **options)
            trainer.async_write_metrics = options["async_write_metrics"]  # AMPTrainer takes it but does not keep it
            return trainer
        if dtype is not None:
            model = AutocastForward(model, torch.device(cfg.MODEL.DEVICE).type, dtype)
        return SimpleTrainer(model, data_loader, optimizer, **options)

    @classmethod
    def build_optimizer(cls, cfg, model):
        """
        SOLVER.OPTIMIZER: SGD (SOLVER.MOMENTUM, NESTEROV) or AdamW (SOLVER.BETAS), with detectron2's
        per-parameter LR and weight decay and its gradient clipping, in torch's fused implementation
        where SOLVER.FUSED_OPTIMIZER allows it. SGD is detectron2's build_optimizer but for the implementation.
        """
        if cfg.SOLVER.OPTIMIZER not in ("SGD", "AdamW"):
            raise ValueError(f"SOLVER.OPTIMIZER = {cfg.SOLVER.OPTIMIZER!r}: choose 'SGD' or 'AdamW'.")
        # weight_decay given explicitly, so that parameter groups with equal settings merge into one (fewer kernels per step).
        params = get_default_optimizer_params(model, base_lr=cfg.SOLVER.BASE_LR, weight_decay=cfg.SOLVER.WEIGHT_DECAY,
                                              weight_decay_norm=cfg.SOLVER.WEIGHT_DECAY_NORM, bias_lr_factor=cfg.SOLVER.BIAS_LR_FACTOR,
                                              weight_decay_bias=cfg.SOLVER.WEIGHT_DECAY_BIAS)
        # Not under float16's GradScaler: see SOLVER.FUSED_OPTIMIZER in d2ext/config.py.
        fused = cfg.SOLVER.FUSED_OPTIMIZER and autocast_dtype(cfg, training=True) != torch.float16
        implementation = {"fused": True, "foreach": None} if fused else {"fused": None, "foreach": True}
        if cfg.SOLVER.OPTIMIZER == "SGD":
            optimizer = optim.SGD(params, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM, nesterov=cfg.SOLVER.NESTEROV,
                                  weight_decay=cfg.SOLVER.WEIGHT_DECAY, **implementation)
        else:
            optimizer = optim.AdamW(params, lr=cfg.SOLVER.BASE_LR, betas=tuple(cfg.SOLVER.BETAS),
                                    weight_decay=cfg.SOLVER.WEIGHT_DECAY, **implementation)

        def keep_implementation(loaded):
            """torch restores each group's implementation from the checkpoint; the config decides it, also on --resume."""
            for group in loaded.param_groups:
                group.update(implementation)

        optimizer.register_load_state_dict_post_hook(keep_implementation)
        return maybe_add_gradient_clipping(cfg, optimizer)

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizer):
        """detectron2's schedulers plus its DeepLab project's "WarmupPolyLR" (SOLVER.POLY_LR_*)."""
        return build_lr_scheduler(cfg, optimizer)

    @classmethod
    def build_train_loader(cls, cfg):
        loader = build_detection_train_loader(cfg, mapper=build_mapper(cfg, is_train=True))
        check_num_classes(cfg, cfg.DATASETS.TRAIN)
        return loader

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        """detectron2's test loader with the test mapper, TEST.IMS_PER_BATCH images per batch."""
        return build_detection_test_loader(cfg, dataset_name, mapper=build_mapper(cfg, is_train=False),
                                           batch_size=cfg.TEST.IMS_PER_BATCH)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return build_evaluator(cfg, dataset_name, output_folder)

    @classmethod
    def test(cls, cfg, model, evaluators=None):
        """
        DefaultTrainer.test under torch.inference_mode, autocast when TEST.AMP.ENABLED; the results are also
        written to OUTPUT_DIR/evaluation_results.json with the iteration evaluated (during training) or the
        weights (MODEL.WEIGHTS, outside training).
        """
        with torch.inference_mode(), inference_precision(cfg):
            results = super().test(cfg, model, evaluators)
        if comm.is_main_process():
            # DefaultTrainer.test unwraps the results of a single test dataset; the file always keys by dataset.
            per_dataset = {cfg.DATASETS.TEST[0]: results} if len(cfg.DATASETS.TEST) == 1 else results
            iteration = evaluated_iteration()
            evaluated = {"iteration": iteration, "weights": None if iteration is not None else cfg.MODEL.WEIGHTS}
            atomic_write_json(os.path.join(cfg.OUTPUT_DIR, "evaluation_results.json"),
                              {**evaluated, "results": per_dataset})
        return results
