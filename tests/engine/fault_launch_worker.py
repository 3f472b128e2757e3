"""
Run by tests/engine/test_distributed_faults.py: a 2-process launch() training job in which rank 1 kills
itself with SIGKILL after its second iteration, as a pre-empted or out-of-memory worker would.
"""
import os
import signal
import sys

from detectron2.engine import HookBase, default_argument_parser, launch
from detectron2.utils import comm

from d2ext.engine import setup, trainer_class


class DieOnRank1(HookBase):
    def after_step(self):
        if comm.get_rank() == 1 and self.trainer.iter == 1:
            os.kill(os.getpid(), signal.SIGKILL)


def main(args):
    cfg = setup(args)
    trainer = trainer_class(cfg)(cfg)
    trainer.register_hooks([DieOnRank1()])
    trainer.train()


if __name__ == "__main__":
    args = default_argument_parser().parse_args(sys.argv[1:])
    launch(main, args.num_gpus, dist_url=args.dist_url, args=(args,))
