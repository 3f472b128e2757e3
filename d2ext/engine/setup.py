"""Config set-up shared by every entry point (train_net, demo, visualize_data)."""
import os

import torch
import yaml
from detectron2.engine import default_setup
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..config import get_cfg
from ..data import register_declared_datasets
from .mixed_precision import resolve_precision

__all__ = ["check_output_dir", "load_config", "resolve_device", "setup", "usable_cpu_cores"]


def usable_cpu_cores():
    """The CPU cores this process may run on (its affinity where the OS tells it, else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def resolve_device(cfg):
    """
    Make the config runnable on this machine (in place, before freezing): MODEL.DEVICE "auto" becomes
    "cuda" or "cpu", SOLVER.AMP.PRECISION a precision this device computes in (resolve_precision), and
    DATALOADER.NUM_WORKERS -1 a worker count for it: 0 on the CPU, min(4, usable cores) beside a GPU.
    """
    if cfg.MODEL.DEVICE == "auto":
        cfg.MODEL.DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
    resolve_precision(cfg)
    if cfg.DATALOADER.NUM_WORKERS == -1:
        cfg.DATALOADER.NUM_WORKERS = 0 if torch.device(cfg.MODEL.DEVICE).type == "cpu" else min(4, usable_cpu_cores())


# What yacs/detectron2 raise on a config of the wrong shape: unparsable YAML, an unknown key, a value of
# another type than the default's, a top level that is not a mapping, a bad _BASE_.
_CONFIG_CONTENT_ERRORS = (yaml.YAMLError, KeyError, ValueError, TypeError, AssertionError, AttributeError)
_CONFIG_HINT = ("Keys must be detectron2's or d2ext's (d2ext/config.py), values of the type of their default, "
                "and _BASE_ the path of another config.")


def load_config(config_file, opts=()):
    """
    The frozen, runnable config of `config_file` with `opts` (KEY VALUE ...) applied; the datasets
    it declares are registered in this process.
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
    resolve_device(cfg)
    cfg.freeze()
    register_declared_datasets(cfg)
    return cfg


def check_output_dir(output_dir, resume, overwrite):
    """
    Refuse to start training from scratch in `output_dir` when it already holds checkpoints: they would be
    overwritten one by one, and a later --resume would mix the two runs.
    """
    if resume or overwrite or not os.path.isdir(output_dir):
        return
    checkpoints = sorted(f for f in os.listdir(output_dir) if f == "last_checkpoint" or f.endswith(".pth"))
    if checkpoints:
        raise FileExistsError(
            f"OUTPUT_DIR {output_dir} already holds checkpoints ({', '.join(checkpoints[:3])}"
            f"{', ...' if len(checkpoints) > 3 else ''}) of an earlier run. Continue that run with --resume, train "
            "into another directory (OUTPUT_DIR path), or pass --overwrite to start afresh there.")


def setup(args):
    """
    ``load_config`` for a training or evaluation run (``args.config_file``, ``args.opts``), plus
    detectron2's default_setup: logging, seeds, the config saved in OUTPUT_DIR. Every process of a
    launch() job calls it, so config-declared datasets exist in each of them. Training from scratch into an
    OUTPUT_DIR with checkpoints stops unless ``args.resume`` or ``args.overwrite`` (check_output_dir). d2ext's own messages
    (e.g. the dataset checks' warnings) go to the console and OUTPUT_DIR/log.txt as detectron2's do.
    """
    cfg = load_config(args.config_file, args.opts)
    if not args.eval_only:
        check_output_dir(cfg.OUTPUT_DIR, args.resume, getattr(args, "overwrite", False))
    default_setup(cfg, args)
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="d2ext")
    return cfg
