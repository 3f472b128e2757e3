"""
d2ext's config: detectron2's ``get_cfg()`` with the core keys and every task's (``add_<task>_config``), and
``load_config`` for config files.

A config from ``get_cfg()`` runs wherever detectron2 runs: MODEL.DEVICE and DATALOADER.NUM_WORKERS hold this
machine's values, and a config file (or override) that says MODEL.DEVICE "auto" or DATALOADER.NUM_WORKERS -1
is made concrete as it is merged, so detectron2's DefaultPredictor, build_model, data loaders and
DefaultTrainer never see those words.
"""
import os

import torch
import yaml
from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg as get_detectron2_cfg
from detectron2.utils.registry import Registry

from .data.declared import register_declared_datasets

__all__ = ["TASK_CONFIG_REGISTRY", "AutoResolvingCfgNode", "add_core_config", "add_d2ext_config", "config_value",
           "get_cfg", "load_config", "resolve_auto_values", "usable_cpu_cores"]

TASK_CONFIG_REGISTRY = Registry("D2EXT_TASK_CONFIG")
TASK_CONFIG_REGISTRY.__doc__ = """
Each task's ``add_<task>_config(cfg)``: adds the task's keys, with their defaults, to a config in place.
``get_cfg()`` calls every registered function, in the order the tasks were imported.
"""


def usable_cpu_cores():
    """The CPU cores this process may run on (its affinity where the OS tells it, else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def resolve_auto_values(cfg):
    """
    Make the config runnable on this machine (in place): MODEL.DEVICE "auto" becomes "cuda" when torch sees a
    GPU, else "cpu"; DATALOADER.NUM_WORKERS -1 becomes 0 on the CPU (a worker would take cores from the model's
    threads, and the loader alone outruns training there) and min(4, usable cores) beside a GPU.
    """
    if cfg.MODEL.DEVICE == "auto":
        cfg.MODEL.DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
    if cfg.DATALOADER.NUM_WORKERS == -1:
        cfg.DATALOADER.NUM_WORKERS = 0 if torch.device(cfg.MODEL.DEVICE).type == "cpu" else min(4, usable_cpu_cores())


class AutoResolvingCfgNode(CN):
    """detectron2's CfgNode whose merges (files, other configs, KEY VALUE lists) end with resolve_auto_values."""

    def merge_from_other_cfg(self, cfg_other):
        super().merge_from_other_cfg(cfg_other)
        self._resolve_if_root()

    def merge_from_list(self, cfg_list):
        super().merge_from_list(cfg_list)
        self._resolve_if_root()

    def _resolve_if_root(self):
        if "MODEL" in self and "DATALOADER" in self:  # a whole config, not a sub-node or a partial file
            resolve_auto_values(self)


def add_core_config(cfg):
    """Add the keys of d2ext's core (engine, data, backbones), with their defaults, to a detectron2 config (in place)."""
    # Any torch device string ("cpu", "cuda:1"), or "auto": CUDA when torch sees a GPU, else CPU.
    cfg.MODEL.DEVICE = "auto"
    # Data-loading worker processes; -1: as many as suit the device (resolve_auto_values).
    cfg.DATALOADER.NUM_WORKERS = -1

    # Mixed precision: SOLVER.AMP.ENABLED autocasts training, TEST.AMP.ENABLED evaluation and inference.
    # PRECISION "auto": bfloat16 on a CPU with bf16 arithmetic (AVX512-BF16 or AMX; elsewhere fp32, said in the
    # log) and on bf16-capable GPUs, else float16 (CUDA only, with detectron2's AMPTrainer and its GradScaler);
    # "bfloat16", "float16" or "float32" force one. Weights and optimizer state stay fp32.
    cfg.SOLVER.AMP.PRECISION = "auto"
    # Log the GradScaler's scale of float16 training (detectron2's AMPTrainer log_grad_scaler).
    cfg.SOLVER.AMP.LOG_GRAD_SCALER = False
    cfg.TEST.AMP = CN()
    cfg.TEST.AMP.ENABLED = False
    # detectron2's training-loop options (SimpleTrainer / AMPTrainer): zero the gradients before the forward
    # instead of after it, and write each iteration's metrics from a background thread.
    cfg.SOLVER.ZERO_GRAD_BEFORE_FORWARD = False
    cfg.SOLVER.ASYNC_WRITE_METRICS = False
    # Images per forward in evaluation and tools/demo.py (detectron2 evaluates one at a time). Images of
    # different sizes are padded to the largest, which can change predictions near their borders slightly.
    cfg.TEST.IMS_PER_BATCH = 8
    # Convolution weights and activations in channels_last (NHWC) memory format, faster for many CPU and
    # tensor-core convolutions (benchmarks/RESULTS.md); checkpoints are unaffected (state dicts are layout-free).
    cfg.MODEL.CHANNELS_LAST = False

    # Datasets declared in the config and registered in every process (docs/datasets.md):
    #   DATASETS.REGISTER.<name>.TYPE: a type of d2ext.data.DATASET_TYPE_REGISTRY ("coco", "image_folder", ...)
    # Relative paths are resolved against the working directory.
    cfg.DATASETS.REGISTER = CN(new_allowed=True)
    # A training image (or mask) that cannot be read stops training with an error naming it (False), or is
    # skipped with a warning naming it and the count so far (True; detectron2's loader takes another record).
    cfg.DATALOADER.SKIP_UNREADABLE = False
    # Name in d2ext.data.MAPPER_REGISTRY of the dataset mapper used for training and testing.
    cfg.INPUT.DATASET_MAPPER = "DatasetMapper"

    # Torchvision architectures as detectron2 backbones (d2ext.modeling.backbone), shared by the tasks.
    cfg.MODEL.TORCHVISION = CN()
    # resnet18/34/50/101, vgg11, vgg11_bn, vgg16, vgg16_bn, alexnet, mobilenet_v3_small/large; must
    # belong to the family of MODEL.BACKBONE.NAME.
    cfg.MODEL.TORCHVISION.ARCH = "resnet50"
    # Stages the backbone returns: ResNet "stem", "res2".."res5"; VGG, AlexNet and MobileNet
    # "stage<k>" (stride 2**k; see the backbone's docstring).
    cfg.MODEL.TORCHVISION.OUT_FEATURES = ["res5"]
    # Normalisation of the batch-norm layers: "BN" (trained), "FrozenBN" (fixed statistics and
    # affine, for fine-tuning with small batches), "SyncBN" (BN synchronised across processes;
    # plain BN when a single process trains). MODEL.BACKBONE.FREEZE_AT freezes leading stages.
    cfg.MODEL.TORCHVISION.NORM = "BN"
    # ResNet output stride: 32 as for classification; 16 dilates res5 and 8 dilates res4 and res5
    # instead of striding them (torchvision's replace_stride_with_dilation), as DeepLab and FCN do.
    cfg.MODEL.TORCHVISION.OUTPUT_STRIDE = 32

    # Optimizer: "SGD" (detectron2's: SOLVER.MOMENTUM, NESTEROV) or "AdamW" (SOLVER.BETAS); both take
    # BASE_LR, WEIGHT_DECAY(_NORM, _BIAS), BIAS_LR_FACTOR and CLIP_GRADIENTS as detectron2 defines them.
    cfg.SOLVER.OPTIMIZER = "SGD"
    cfg.SOLVER.BETAS = (0.9, 0.999)
    # torch's fused optimizer kernels (one pass over all parameters, on CPU and CUDA), faster than the
    # multi-tensor ones (benchmarks/RESULTS.md). False: the multi-tensor ("foreach") implementation, as
    # detectron2's SGD. float16 training is never fused: when GradScaler skips the first step, torch's fused
    # SGD keeps momentum buffers it allocated but never wrote, and detectron2's clipping wrapper cannot take
    # the arguments GradScaler passes to a fused step.
    cfg.SOLVER.FUSED_OPTIMIZER = True
    # The trainer tools/train_net.py builds, from d2ext.engine.TRAINER_REGISTRY: "Trainer" (one loss, one
    # optimizer: detectron2's DefaultTrainer) or a task's ("GANTrainer": one optimizer per network group).
    cfg.SOLVER.TRAINER = "Trainer"


def add_d2ext_config(cfg):
    """Add every d2ext key, with its default, to a detectron2 config (in place): the core's and each task's."""
    add_core_config(cfg)
    for _, add_task_config in TASK_CONFIG_REGISTRY:
        add_task_config(cfg)


def _copy_new_allowed(source, target):
    """Give every node of `target` the new_allowed flag of its node in `source` (a tree of the same keys)."""
    target.set_new_allowed(source.is_new_allowed())  # recursive: the children below set their own
    for key, value in source.items():
        if isinstance(value, CN):
            _copy_new_allowed(value, target[key])


def get_cfg():
    """detectron2's default config with d2ext's keys added, runnable on this machine (see the module docstring)."""
    cfg = get_detectron2_cfg()
    add_d2ext_config(cfg)
    # Every node of one class: yacs refuses to merge a node into one of another class.
    auto_resolving = AutoResolvingCfgNode(cfg)
    _copy_new_allowed(cfg, auto_resolving)
    resolve_auto_values(auto_resolving)
    return auto_resolving


def config_value(cfg, key):
    """The value of the dotted config `key` ("MODEL.RPN.IN_FEATURES") in `cfg`."""
    for part in key.split("."):
        cfg = cfg[part]
    return cfg


# What yacs/detectron2 raise on a config of the wrong shape: unparsable YAML, an unknown key, a value of
# another type than the default's, a top level that is not a mapping, a bad _BASE_.
_CONFIG_CONTENT_ERRORS = (yaml.YAMLError, KeyError, ValueError, TypeError, AssertionError, AttributeError)
_CONFIG_HINT = ("Keys must be detectron2's or d2ext's (docs/configs.md), values of the type of their default, "
                "and _BASE_ the path of another config.")


def load_config(config_file, opts=()):
    """
    The frozen, runnable config of `config_file` with `opts` (KEY VALUE ...) applied; the datasets
    it declares (DATASETS.REGISTER) are registered in this process. The YAML is read with a safe loader.
    """
    if not os.path.isfile(config_file):
        raise FileNotFoundError(f"config file {config_file}: no such file.")
    cfg = get_cfg()
    try:
        # detectron2 falls back to yaml.unsafe_load, which runs any Python a config names (!!python/...).
        cfg.merge_from_file(config_file, allow_unsafe=False)
    except yaml.constructor.ConstructorError as e:
        mark = e.problem_mark  # the file (config_file or one of its _BASE_ files), line and column of the tag
        raise ValueError(f"{mark.name}, line {mark.line + 1}: refused, {e.problem} (only an unsafe loader reads it; "
                         f"config {config_file}). d2ext loads configs with yaml.safe_load: write plain values "
                         "(numbers, strings, lists, mappings) instead.") from e
    except _CONFIG_CONTENT_ERRORS as e:
        raise ValueError(f"{config_file}: not a valid d2ext config ({type(e).__name__}: {e}). {_CONFIG_HINT}") from e
    try:
        cfg.merge_from_list(list(opts))
    except _CONFIG_CONTENT_ERRORS as e:
        raise ValueError(f"config overrides {list(opts)}: {type(e).__name__}: {e}. {_CONFIG_HINT}") from e
    cfg.freeze()
    register_declared_datasets(cfg)
    return cfg
