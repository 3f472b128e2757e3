"""Set-up of a tools/train_net.py run: the config, detectron2's default_setup, and the output folder check."""
import os

from detectron2.engine import default_setup
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..config import load_config

__all__ = ["check_output_dir", "setup"]


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
    OUTPUT_DIR with checkpoints stops unless ``args.resume`` or ``args.overwrite`` (check_output_dir). d2ext's own
    messages (e.g. the dataset checks' warnings) go to the console and OUTPUT_DIR/log.txt as detectron2's do.
    """
    cfg = load_config(args.config_file, args.opts)
    if not args.eval_only:
        check_output_dir(cfg.OUTPUT_DIR, args.resume, getattr(args, "overwrite", False))
    default_setup(cfg, args)
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="d2ext")
    return cfg
