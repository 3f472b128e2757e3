#!/usr/bin/env python
"""
Train or evaluate any d2ext model: the task, model and data all come from the config file.

    python tools/train_net.py --config-file configs/shapes/detection/faster_rcnn_R_18_FPN.yaml
    python tools/train_net.py --config-file CFG --eval-only MODEL.WEIGHTS output/model_final.pth
    python tools/train_net.py --config-file CFG --num-gpus 2     # 2 processes: GPUs, or CPU over gloo

Flags and trailing KEY VALUE overrides are detectron2's (``default_argument_parser``), plus ``--overwrite``:
training from scratch into an OUTPUT_DIR that holds checkpoints stops unless --resume or --overwrite is given.
"""
import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
from detectron2.engine import default_argument_parser, launch

from d2ext.checkpoint import SafeCheckpointer
from d2ext.engine import setup, trainer_class


def main(args):
    cfg = setup(args)
    trainer_cls = trainer_class(cfg)  # SOLVER.TRAINER: "Trainer", or "GANTrainer" for GANs
    if args.eval_only:
        model = trainer_cls.build_model(cfg)
        SafeCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(cfg.MODEL.WEIGHTS, resume=args.resume)
        return trainer_cls.test(cfg, model)
    trainer = trainer_cls(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def argument_parser():
    """detectron2's default_argument_parser plus --overwrite."""
    parser = default_argument_parser()
    parser.add_argument("--overwrite", action="store_true",
                        help="train from scratch even if OUTPUT_DIR holds checkpoints of an earlier run")
    return parser


if __name__ == "__main__":
    args = argument_parser().parse_args()
    launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
           dist_url=args.dist_url, args=(args,))
