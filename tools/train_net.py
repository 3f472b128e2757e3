#!/usr/bin/env python
"""
Train or evaluate any d2ext model: the task, model and data all come from the config file.

    python tools/train_net.py --config-file configs/shapes/detection/faster_rcnn_R_18_FPN.yaml
    python tools/train_net.py --config-file CFG --eval-only MODEL.WEIGHTS output/model_final.pth
    python tools/train_net.py --config-file CFG --num-gpus 2     # 2 processes: GPUs, or CPU over gloo

Flags and trailing KEY VALUE overrides are detectron2's (``default_argument_parser``), plus ``--overwrite``:
training from scratch into an OUTPUT_DIR that holds checkpoints stops unless --resume or --overwrite is given;
and ``--backend onnxruntime|torchscript`` with --eval-only, which evaluates a model exported by
tools/export_model.py (MODEL.WEIGHTS: its folder) as the PyTorch model is evaluated.
"""
import d2ext  # noqa: F401  first: it silences the known third-party warnings before detectron2 is imported
from detectron2.engine import default_argument_parser, launch

from d2ext.checkpoint import SafeCheckpointer
from d2ext.engine import setup, trainer_class
from d2ext.export import BACKENDS, ExportedModel


def main(args):
    cfg = setup(args)
    trainer_cls = trainer_class(cfg)  # SOLVER.TRAINER: "Trainer", or "GANTrainer" for GANs
    if args.backend != "pytorch":
        return trainer_cls.test(cfg, ExportedModel(cfg, cfg.MODEL.WEIGHTS, args.backend))
    if args.eval_only:
        model = trainer_cls.build_model(cfg)
        SafeCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(cfg.MODEL.WEIGHTS, resume=args.resume)
        return trainer_cls.test(cfg, model)
    trainer = trainer_cls(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def argument_parser():
    """detectron2's default_argument_parser plus --overwrite and --backend."""
    parser = default_argument_parser()
    parser.add_argument("--overwrite", action="store_true",
                        help="train from scratch even if OUTPUT_DIR holds checkpoints of an earlier run")
    parser.add_argument("--backend", choices=BACKENDS, default="pytorch",
                        help="with --eval-only: evaluate an exported model (MODEL.WEIGHTS: its folder)")
    return parser


def parse_args(argv=None):
    args = argument_parser().parse_args(argv)
    if args.backend != "pytorch" and not args.eval_only:
        argument_parser().error(f"--backend {args.backend} runs an exported model, which does not train: add --eval-only.")
    return args


if __name__ == "__main__":
    args = parse_args()
    launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
           dist_url=args.dist_url, args=(args,))
