"""
Run by tests/engine/test_train_gan.py: a few GANTrainer iterations in every process of a launch() job on
CPU (gloo); each process then saves its parameters to OUTPUT_DIR/rank<r>.pth for the test to compare.
"""
import os
import sys

import torch
from detectron2.engine import default_argument_parser, launch
from detectron2.utils import comm

from d2ext.engine import setup

from d2ext.gan import GANTrainer


def main(args):
    cfg = setup(args)
    trainer = GANTrainer(cfg)
    trainer.train()
    parameters = {name: p.detach() for name, p in trainer.model.named_parameters()}
    torch.save(parameters, os.path.join(cfg.OUTPUT_DIR, f"rank{comm.get_rank()}.pth"))


if __name__ == "__main__":
    args = default_argument_parser().parse_args(sys.argv[1:])
    launch(main, args.num_gpus, dist_url=args.dist_url, args=(args,))
